// npm run health [-- --tenant <slug|id>] [--json]
// Prints the command center's health report: last successful syncs, active runs, recent
// failures, integrity counters (non-zero ones highlighted). Exit code 1 when a must-be-zero
// counter is not zero.
import "./lib/quiet-node20.ts";
import { createSyncClient } from "../shared/index.ts";
import { adminKey, flag, functionsBaseUrl, parseArgs, runMain, UsageError } from "./lib/cli.ts";
import { formatHealth, hasIntegrityViolations } from "./lib/health-report.ts";
import { tenantFromArg } from "./lib/tenants.ts";

const USAGE = `usage: npm run health [-- --tenant <slug or tenant id>] [--json]`;

runMain(async () => {
  const args = parseArgs(process.argv.slice(2), { values: ["tenant"], booleans: ["json"] });
  if (args.positional.length) throw new UsageError(`Unexpected argument "${args.positional[0]}".`);
  const tenantArg = flag(args, "tenant");
  const tenantId = tenantArg ? (await tenantFromArg(tenantArg)).tenantId : undefined;
  const client = createSyncClient({ url: functionsBaseUrl(), key: await adminKey() });
  const report = await client.health({ tenantId });
  console.log(args.flags.has("json") ? JSON.stringify(report, null, 2) : formatHealth(report));
  return hasIntegrityViolations(report) ? 1 : 0;
}, USAGE);
