// room-status: the room board (GET) and the operator actions and reconciliation (POST), contract §6.
import { z } from "zod";
import { readJson, searchParams } from "../http/body.ts";
import { json } from "../http/errors.ts";
import type { Caller } from "../http/auth.ts";
import { createHandler } from "../http/handler.ts";
import { performAction, roomActionSchema } from "../rooms/actions.ts";
import { roomBoard } from "../rooms/board.ts";
import { reconcileRoomStatus } from "../rooms/reconcile.ts";
import { requireTenant } from "../tenants.ts";
import type { FunctionDeps } from "../types.ts";

const boardQuery = z.strictObject({ tenantId: z.uuid({ message: "Required: a tenant id (uuid)." }) });

/** Who the action log names: the operator's e-mail or user id; the admin key is one shared secret. */
const actorOf = (caller: Caller | undefined): string =>
  caller?.kind === "user" ? `operator ${caller.email ?? caller.userId ?? "(unnamed)"}` : "admin key";

export function roomStatusFunction(deps: Pick<FunctionDeps, "sql" | "config" | "log">) {
  const { sql, config, log } = deps;
  return createHandler({
    GET: async (req) => {
      const { tenantId } = searchParams(req, boardQuery);
      await requireTenant(sql, tenantId);
      return json(200, await roomBoard(sql, tenantId));
    },
    POST: async (req, caller) => {
      const body = await readJson(req, roomActionSchema);
      if (body.action === "reconcile") {
        if (body.tenantId) await requireTenant(sql, body.tenantId);
        const report = await reconcileRoomStatus(sql, body.tenantId ?? null);
        if (report.changed) {
          log("info", "room status reconciled", { tenantId: body.tenantId ?? null, changed: report.changed });
        }
        return json(200, report);
      }
      const result = await performAction(sql, body, actorOf(caller));
      log("info", "room status action", {
        tenantId: body.tenantId,
        action: body.action,
        changed: result.changes.length,
      });
      return json(200, result);
    },
  }, { adminKeys: () => config.adminKeys, jwt: () => config.jwt, log });
}
