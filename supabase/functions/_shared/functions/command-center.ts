// sync-command-center: one button that syncs a hotel in order (accommodations, then bookings),
// one that cancels everything, and the health report.
import { readJson } from "../http/body.ts";
import { ApiError, json } from "../http/errors.ts";
import { createHandler } from "../http/handler.ts";
import { cancelRuns } from "../runs/coordinator.ts";
import type { FunctionDeps } from "./source-function.ts";
import { runRequestSchema, toCommand } from "./run-api.ts";

export function commandCenter(deps: FunctionDeps) {
  const { sql, config, log } = deps;
  return createHandler({
    POST: async (req) => {
      const command = toCommand(await readJson(req, runRequestSchema), false);
      if (command.kind === "cancel") {
        if (command.tenantId) {
          throw new ApiError(400, "INVALID_REQUEST", "The command center's forceCancel cancels every run of every tenant; to cancel one tenant, call that source's function.", {
            fields: [{ field: "tenantId", message: "Not allowed with forceCancel here." }],
          });
        }
        const runIds = await cancelRuns(sql, { reason: "Global forceCancel from sync-command-center." });
        log("info", "global forceCancel", { runIds });
        return json(200, { cancelled: runIds.length, runIds });
      }
      throw new ApiError(501, "NOT_IMPLEMENTED", "The chained sync is not implemented yet; forceCancel works.");
    },
  }, { adminKeys: () => config.adminKeys, log });
}
