import postgres from "postgres";

export type Sql = postgres.Sql<Record<string, never>>;
export type Tx = postgres.TransactionSql<Record<string, never>>;

/**
 * One small pool per isolate (default 2: the platform runs many isolates and every connection
 * counts against the database's or the pooler's limit). `prepare: false` so that the same client
 * works through Supavisor's transaction mode (SYNC_DB_URL, port 6543), which cannot keep prepared
 * statements; on the direct connection it only costs a little parsing.
 */
export function createSql(url: string, opts: { max?: number } = {}): Sql {
  return postgres(url, {
    max: opts.max ?? 2,
    prepare: false,
    idle_timeout: 20,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: "motopress-sync" },
  }) as Sql;
}
