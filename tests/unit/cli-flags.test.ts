// The operator commands read their flags with Node's util.parseArgs (strict): `--k v` and `--k=v`,
// and an unknown flag, a missing value or a value for a boolean is refused with a sentence naming it.
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseArgs } from "../../scripts/lib/cli.ts";
import { projectRoot } from "../../scripts/stack/lib/migrate.ts";

const known = { values: ["tenant", "consumer-secret"], booleans: ["apply"] };
const error = (argv: string[]) => {
  try {
    parseArgs(argv, known);
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
  return "no error";
};

describe("parseArgs", () => {
  it("takes --k v, --k=v, booleans and positionals; '-' is a value (stdin)", () => {
    const args = parseArgs(["add", "--tenant=a=b", "--consumer-secret", "-", "--apply"], known);
    expect(args.positional).toEqual(["add"]);
    expect([...args.flags]).toEqual([["tenant", "a=b"], ["consumer-secret", "-"], ["apply", true]]);
  });

  it("refuses an unknown flag, a missing value and a value for a boolean, naming the flag", () => {
    expect(error(["--tenat", "x"])).toBe(
      "UsageError: Unknown option --tenat (known: --tenant, --consumer-secret, --apply).",
    );
    expect(error(["--tenant"])).toBe("UsageError: --tenant needs a value.");
    expect(error(["--tenant", "--apply"])).toBe("UsageError: --tenant needs a value.");
    expect(error(["--apply=yes"])).toBe("UsageError: --apply takes no value.");
  });
});

function run(script: string, args: string[]) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(path.join(projectRoot, "node_modules/.bin/tsx"), [script, ...args], {
      cwd: projectRoot,
      env: {
        ...process.env,
        NO_COLOR: "1",
        SUPABASE_URL: "http://127.0.0.1:9",
        SUPABASE_DB_URL: "postgres://127.0.0.1:9/x",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("exit", (code) => resolve({ code, stderr }));
  });
}

// Every command (tenant, sync, health, repair, console-link) parses through parseArgs inside runMain;
// two are run for real (a tsx start costs seconds on two cores): one that calls the functions, and
// console-link, which parses before any other work.
describe("an operator command refuses an unknown flag before doing anything", () => {
  const commands: [string, string[]][] = [
    ["scripts/sync.ts", ["--tenant", "x", "--slugg", "x"]],
    ["scripts/console-link.ts", ["--slugg=x"]],
  ];
  it.concurrent.each(commands)(
    "%s: exit 2, one line naming --slugg, no stack trace",
    async (script, args) => {
      const { code, stderr } = await run(script, args);
      expect(code).toBe(2);
      expect(stderr).toMatch(/^error: Unknown option --slugg \(known: --/);
      expect(stderr).not.toMatch(/\n\s+at /);
    },
  );
});
