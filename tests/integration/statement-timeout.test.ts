// Every statement of the functions runs under a server-side statement_timeout (db.ts), shorter
// than the client's own wait: the server ends a slow statement and frees its locks. A statement
// ended so is "too slow", not "database unavailable": retried once, then STATEMENT_TIMEOUT naming
// the statement and where the run was (runs/db-faults.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSql, ownTransaction, type Sql } from "../../supabase/functions/_shared/db.ts";
import {
  isStatementTimeout,
  StatementTimeoutError,
  withDbRetry,
} from "../../supabase/functions/_shared/runs/db-faults.ts";
import { classifyRunError } from "../../supabase/functions/_shared/runs/classify.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";

let db: TestDatabase;
let sql: Sql;
beforeAll(async () => {
  db = await createTestDatabase(2);
  sql = createSql(db.url, { max: 2, statementTimeoutMs: 200 });
  await db.sql`create function public.slow_probe(p_ms integer) returns integer language sql as
    $$ select 1 from pg_sleep(p_ms / 1000.0) $$`;
});
afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await db?.drop();
});

const failure = (p: Promise<unknown>) => p.then(() => null, (err: unknown) => err);

describe("the server ends a slow statement", () => {
  it("a statement of its own: ended at the timeout, the connection usable after", async () => {
    const t0 = performance.now();
    const err = await failure(ownTransaction(sql, (q) => q`select public.slow_probe(2000)`));
    expect(isStatementTimeout(err), String(err)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1500);
    const [row] = await ownTransaction(sql, (q) => q`select current_setting('statement_timeout') as t`);
    expect(row.t).toBe("200ms");
    // Nothing leaked to the session: the setting was the transaction's own.
    const [plain] = await sql`select current_setting('statement_timeout') as t`;
    expect(plain.t).toBe("0");
  });

  it("a transaction's statements too", async () => {
    const err = await failure(sql.begin((tx) => tx`select public.slow_probe(2000)`));
    expect(isStatementTimeout(err), String(err)).toBe(true);
  });

  it("is retried once, then fails as STATEMENT_TIMEOUT naming the statement and the page", async () => {
    let attempts = 0;
    const err = await failure(withDbRetry(() => {
      attempts++;
      return ownTransaction(sql, (q) => q`select * from public.slow_probe(2000) as sync_page_probe`);
    }, { where: "bookings page 7", baseDelayMs: 1 }));
    expect(attempts).toBe(2);
    expect(err).toBeInstanceOf(StatementTimeoutError);
    expect(classifyRunError(err)).toEqual({
      code: "STATEMENT_TIMEOUT",
      message: expect.stringMatching(
        /^bookings page 7: select \* from public\.slow_probe.* statement timeout/,
      ),
    });
  });

  it("a statement that is only slow at first passes on its retry", async () => {
    let attempts = 0;
    const [row] = await withDbRetry(
      () => ownTransaction(sql, (q) => q`select public.slow_probe(${attempts++ === 0 ? 2000 : 0}) as ok`),
      {
        baseDelayMs: 1,
      },
    );
    expect(row.ok).toBe(1);
    expect(attempts).toBe(2);
  });
});
