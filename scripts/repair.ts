// npm run repair -- --tenant <slug or id> [--apply]
// Finds reservations without junction rows (written before this product existed) and re-links
// them from MotoPress through the command center. A dry run unless --apply: prints what it would do.
import "./lib/quiet-node20.ts";
import { createSyncClient } from "../shared/index.ts";
import { adminKey, c, flag, functionsBaseUrl, parseArgs, runMain, UsageError } from "./lib/cli.ts";
import { tenantFromArg } from "./lib/tenants.ts";

const USAGE = `usage: npm run repair -- --tenant <slug or tenant id> [--apply]`;

runMain(async () => {
  const args = parseArgs(process.argv.slice(2), { values: ["tenant"], booleans: ["apply"] });
  const tenantArg = flag(args, "tenant");
  if (!tenantArg) throw new UsageError("Missing --tenant <slug or id>.");
  const { tenantId, label } = await tenantFromArg(tenantArg);
  const apply = args.flags.has("apply");
  const client = createSyncClient({ url: functionsBaseUrl(), key: await adminKey() });
  const report = await client.repair({ tenantId, apply });
  console.log(
    `${
      c.bold(apply ? "Repair" : "Repair (dry run)")
    } of ${label}: ${report.found} reservation(s) without rooms`,
  );
  for (const r of report.relinked) {
    console.log(
      `  booking ${r.bookingId}: ${apply ? "re-linked to" : "would link to"} unit(s) ${r.units.join(", ")}`,
    );
  }
  for (const id of report.goneUpstream) {
    console.log(`  booking ${id}: gone upstream${apply ? ", marked removed" : ", would be marked removed"}`);
  }
  for (const u of report.unrepairable) {
    console.log(`  booking ${u.bookingId}: ${c.red("cannot repair")}: ${u.reason}`);
  }
  if (report.more) console.log(c.yellow("  more remain: run again"));
  if (!apply && report.found) console.log(c.dim("  nothing changed; run with --apply to write"));
  return report.unrepairable.length ? 1 : 0;
}, USAGE);
