// The functions' environment, read once into a typed value (contract §4). Entry points pass the
// env in; nothing else reads it.

/** How operators' user JWTs are verified (http/jwt.ts). */
export interface JwtVerifier {
  /** Public keys by kid (asymmetric), plus the legacy secret when configured. */
  readonly jwks: readonly JsonWebKey[];
  readonly hsSecret: string | null;
  readonly issuer: string;
  readonly audience: string;
  /** Seconds of clock skew tolerated on exp/nbf/iat. */
  readonly leewaySeconds: number;
}

export interface Config {
  /** SYNC_DB_URL (hosted: the transaction pooler, port 6543), else the platform's SUPABASE_DB_URL. */
  dbUrl: string;
  /** Connections per isolate: serverless isolates are many, the database's connection slots few. */
  dbPoolMax: number;
  /**
   * The server ends any statement of the functions that runs longer (SYNC_STATEMENT_TIMEOUT_MS),
   * well before the client's own wait for a page (30 s) would give up on it.
   */
  statementTimeoutMs: number;
  /** Base URL used to invoke the functions, including continuations. */
  supabaseUrl: string;
  adminKeys: readonly string[];
  /** The key a function sends when it invokes a function (continuations, command center). */
  invokeKey: string;
  invocationBudgetMs: number;
  /** The platform's CPU hard limit per isolate, which hops budget against (hosted: 2000 ms). */
  cpuLimitMs: number;
  /** The platform's wall clock per isolate, counted from its start (hosted free plan: 150 s). */
  wallClockLimitMs: number;
  leaseSeconds: number;
  heartbeatIntervalMs: number;
  tenantConcurrency: number;
  motopress: { timeoutMs: number; concurrency: number; maxRetries: number; maxBodyBytes: number };
  /** Hosts and CIDRs that outbound requests may reach although private or plain http (SYNC_ALLOW_PRIVATE_HOSTS). */
  allowPrivateHosts: readonly string[];
  /** Operators' user JWTs (SUPABASE_JWKS, SYNC_JWT_SECRET); null when neither is configured. */
  jwt: JwtVerifier | null;
}

/** Shorter keys are guessable; the functions refuse to start with one rather than 401 every call later. */
export const MIN_ADMIN_KEY_LENGTH = 16;

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `${name} must be an integer between ${min} and ${max} (got ${JSON.stringify(raw)}).`,
    );
  }
  return n;
}

/**
 * Valid admin keys: SYNC_ADMIN_KEY plus the platform's service-role / secret keys when present.
 * A platform key too short to be one is ignored; a short SYNC_ADMIN_KEY is the operator's mistake
 * and stops the function at start (it would be sent on continuations and refused).
 */
function adminKeys(env: Env): string[] {
  const own = env.SYNC_ADMIN_KEY;
  if (own !== undefined && own !== "" && own.trim().length < MIN_ADMIN_KEY_LENGTH) {
    throw new ConfigError(
      `SYNC_ADMIN_KEY is too short (${own.trim().length} characters); use at least ${MIN_ADMIN_KEY_LENGTH} random characters.`,
    );
  }
  const keys = [own?.trim(), env.SUPABASE_SERVICE_ROLE_KEY, env.SUPABASE_SECRET_KEY];
  if (env.SUPABASE_SECRET_KEYS) {
    try {
      keys.push(...Object.values(JSON.parse(env.SUPABASE_SECRET_KEYS) as Record<string, string>));
    } catch {
      // The platform's JSON is malformed: the other keys still work.
    }
  }
  return [
    ...new Set(keys.filter((k): k is string => typeof k === "string" && k.length >= MIN_ADMIN_KEY_LENGTH)),
  ];
}

function hostList(env: Env, name: string): string[] {
  return (env[name] ?? "").split(",").map((h) => h.trim()).filter(Boolean);
}

/** The project's public signing keys: `{"keys": [...]}` (the platform's SUPABASE_JWKS) or a bare array. */
function jwks(env: Env): JsonWebKey[] {
  const raw = env.SUPABASE_JWKS?.trim();
  if (!raw) return [];
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ConfigError('SUPABASE_JWKS is not JSON (expected {"keys": [...]}).');
  }
  const keys = Array.isArray(value) ? value : (value as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new ConfigError('SUPABASE_JWKS has no "keys" list.');
  // Only public asymmetric keys: a symmetric ("oct") key in a JWKS would let its holder mint tokens.
  return keys.filter((k): k is JsonWebKey =>
    !!k && typeof k === "object" && ((k as JsonWebKey).kty === "EC" || (k as JsonWebKey).kty === "RSA") &&
    (k as JsonWebKey).d === undefined
  );
}

function jwtSettings(env: Env, supabaseUrl: string): JwtVerifier | null {
  const keys = jwks(env);
  const secret = env.SYNC_JWT_SECRET || null;
  if (secret !== null && secret.length < 32) {
    throw new ConfigError(
      "SYNC_JWT_SECRET must be at least 32 characters (the project's legacy JWT secret).",
    );
  }
  if (keys.length === 0 && !secret) return null;
  return {
    jwks: keys,
    hsSecret: secret,
    // Supabase Auth issues tokens with iss = <project URL>/auth/v1 and aud = authenticated.
    issuer: env.SYNC_JWT_ISSUER || `${supabaseUrl}/auth/v1`,
    audience: env.SYNC_JWT_AUDIENCE || "authenticated",
    leewaySeconds: int(env, "SYNC_JWT_LEEWAY_SECONDS", 30, 0, 300),
  };
}

export function loadConfig(env: Env): Config {
  // Secrets may not start with SUPABASE_ on the platform, so the pooler URL needs a name of its own.
  const dbUrl = env.SYNC_DB_URL || env.SUPABASE_DB_URL;
  const supabaseUrl = env.SUPABASE_URL;
  const missing = [!dbUrl && "SYNC_DB_URL or SUPABASE_DB_URL", !supabaseUrl && "SUPABASE_URL"].filter(
    Boolean,
  );
  if (missing.length) throw new ConfigError(`Missing environment: ${missing.join(", ")}.`);
  const keys = adminKeys(env);
  const leaseSeconds = int(env, "SYNC_LEASE_SECONDS", 60, 1, 3600);
  const baseUrl = supabaseUrl!.replace(/\/+$/, "");
  return {
    dbUrl: dbUrl!,
    dbPoolMax: int(env, "SYNC_DB_POOL_MAX", 2, 1, 20),
    statementTimeoutMs: int(env, "SYNC_STATEMENT_TIMEOUT_MS", 20_000, 100, 25_000),
    supabaseUrl: baseUrl,
    jwt: jwtSettings(env, baseUrl),
    adminKeys: keys,
    // SYNC_ADMIN_KEY when set (checked above), else the platform key: always one the functions accept.
    invokeKey: keys[0] ?? "",
    invocationBudgetMs: int(env, "SYNC_INVOCATION_BUDGET_MS", 100_000, 1, 3_600_000),
    cpuLimitMs: int(env, "SYNC_CPU_LIMIT_MS", 2_000, 100, 3_600_000),
    wallClockLimitMs: int(env, "SYNC_WALL_CLOCK_LIMIT_MS", 150_000, 10_000, 86_400_000),
    leaseSeconds,
    // Three heartbeats per lease: one lost beat never makes a live run look dead.
    heartbeatIntervalMs: int(
      env,
      "SYNC_HEARTBEAT_INTERVAL_MS",
      Math.max(250, (leaseSeconds * 1000) / 3),
      50,
      3_600_000,
    ),
    tenantConcurrency: int(env, "SYNC_TENANT_CONCURRENCY", 2, 1, 32),
    motopress: {
      timeoutMs: int(env, "MOTOPRESS_TIMEOUT_MS", 30_000, 100, 300_000),
      concurrency: int(env, "MOTOPRESS_CONCURRENCY", 2, 1, 8),
      maxRetries: int(env, "MOTOPRESS_MAX_RETRIES", 4, 0, 10),
      // A page of 100 bookings is ~1 MB; 16 MB leaves room and still bounds one response's memory.
      maxBodyBytes: int(env, "MOTOPRESS_MAX_BODY_BYTES", 16 * 1024 * 1024, 64 * 1024, 128 * 1024 * 1024),
    },
    allowPrivateHosts: hostList(env, "SYNC_ALLOW_PRIVATE_HOSTS"),
  };
}
