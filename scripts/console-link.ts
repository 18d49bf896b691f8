// npm run console:link [-- --role viewer] [--minutes 60]: a fresh sign-in link for the local
// console, signed with the local key that `npm start` made (.data/local-jwt-key.json).
import { access } from "node:fs/promises";
import { flag, parseArgs, runMain, UsageError } from "./lib/cli.ts";
import { localSigningKey, operatorToken } from "./stack/lib/local-auth.ts";

const USAGE = "usage: npm run console:link [-- --role operator|viewer] [--minutes 1-1440]";

runMain(async () => {
  const args = parseArgs(process.argv.slice(2), { values: ["role", "minutes"] });
  if (args.positional.length) throw new UsageError(`Unexpected argument "${args.positional[0]}".`);
  const role = flag(args, "role") ?? "operator";
  const minutes = Number(flag(args, "minutes") ?? 60);
  if (role !== "operator" && role !== "viewer") throw new UsageError("--role is operator or viewer.", false);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 24 * 60) {
    throw new UsageError("--minutes is 1 to 1440.", false);
  }
  await access(".data/local-jwt-key.json").catch(() => {
    throw new UsageError("No local signing key yet: run npm start first.", false);
  });
  const key = await localSigningKey(".data");
  const functionsUrl = process.env.SUPABASE_URL ?? `http://127.0.0.1:${process.env.FUNCTIONS_PORT ?? 54321}`;
  const consoleUrl = `http://127.0.0.1:${process.env.CONSOLE_PORT ?? 54323}`;
  const token = operatorToken(key, {
    supabaseUrl: functionsUrl,
    role,
    ttlSeconds: minutes * 60,
    email: `${role}@localhost`,
  });
  console.log(`${consoleUrl}/#access_token=${token}`);
}, USAGE);
