import postgres from "postgres";

export type Sql = postgres.Sql<Record<string, never>>;
export type Tx = postgres.TransactionSql<Record<string, never>>;

/**
 * One small pool per isolate. `prepare: false` because hosted functions reach Postgres through
 * Supavisor's transaction mode, which cannot keep prepared statements.
 */
export function createSql(url: string, opts: { max?: number } = {}): Sql {
  return postgres(url, {
    max: opts.max ?? 4,
    prepare: false,
    idle_timeout: 20,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: "motopress-sync" },
  }) as Sql;
}
