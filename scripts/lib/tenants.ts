// Tenant registration for the operator scripts (npm run tenant, npm start): plain SQL against
// SUPABASE_DB_URL; credentials go to private.motopress_credentials and are never printed.
import type postgres from "postgres";
import { databaseUrl, UsageError } from "./cli.ts";

// Any `postgres` client: the scripts' own, or the functions' (`Sql<Record<string, never>>`).
// deno-lint-ignore no-explicit-any
type Sql = postgres.Sql<any>;

export interface TenantInput {
  slug: string;
  name: string;
  timezone: string;
  siteUrl: string;
  consumerKey: string;
  consumerSecret: string;
}

export interface TenantRow {
  tenantId: string;
  slug: string;
  name: string;
  timezone: string;
  isActive: boolean;
  siteUrl: string | null;
  createdAt: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID.test(s);

/** Checks the input the way the schema will, so the operator gets a sentence instead of a constraint name. */
export async function validateTenantInput(sql: Sql, input: TenantInput): Promise<void> {
  const problems: string[] = [];
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(input.slug)) {
    problems.push(
      `--slug "${input.slug}" must be lowercase letters, digits and dashes (1-63 chars, not starting with a dash).`,
    );
  }
  if (input.name.length < 1 || input.name.length > 200) problems.push("--name must be 1 to 200 characters.");
  let site: URL | null = null;
  try {
    site = new URL(input.siteUrl);
  } catch { /* reported below */ }
  if (!site || !/^https?:$/.test(site.protocol)) {
    problems.push(`--site-url "${input.siteUrl}" must be an http(s) URL, e.g. https://hotel.example.com.`);
  }
  if (!input.consumerKey.trim()) problems.push("--consumer-key is empty.");
  if (!input.consumerSecret.trim()) problems.push("--consumer-secret is empty.");
  const [{ ok }] =
    await sql`select exists (select 1 from pg_timezone_names where name = ${input.timezone}) as ok`;
  if (!ok) {
    problems.push(
      `--timezone "${input.timezone}" is not a time zone PostgreSQL knows (e.g. Europe/Madrid, America/Bogota, UTC).`,
    );
  }
  if (problems.length) throw new UsageError(problems.join("\n       "), false);
}

/**
 * Registers the tenant (by slug) or updates it, with its credentials; returns the tenant id, and
 * the origin the stored key and secret belonged to when the site moved to another one. The key and
 * secret are always given here, so they are written for the new site's origin (secret_origin), the
 * only one the functions send them to.
 */
export async function registerTenant(
  sql: Sql,
  input: TenantInput,
): Promise<{ tenantId: string; created: boolean; movedFrom: string | null }> {
  await validateTenantInput(sql, input);
  const siteUrl = input.siteUrl.replace(/\/+$/, "");
  return await sql.begin(async (tx) => {
    const [before] = await tx`
      select c.secret_origin from public.tenant_registry t
      join private.motopress_credentials c using (tenant_id) where t.slug = ${input.slug} for update of c`;
    const [row] = await tx`
      insert into public.tenant_registry (slug, name, timezone)
      values (${input.slug}, ${input.name}, ${input.timezone})
      on conflict (slug) do update
        set name = excluded.name, timezone = excluded.timezone, is_active = true, updated_at = now()
      returning tenant_id, (xmax = 0) as created`;
    await tx`
      insert into private.motopress_credentials (tenant_id, site_url, consumer_key, consumer_secret)
      values (${row.tenant_id}, ${siteUrl}, ${input.consumerKey.trim()}, ${input.consumerSecret.trim()})
      on conflict (tenant_id) do update
        set site_url = excluded.site_url, consumer_key = excluded.consumer_key,
            consumer_secret = excluded.consumer_secret, secret_origin = excluded.secret_origin,
            updated_at = now()`;
    const origin = (url: string) => URL.canParse(url) ? new URL(url).origin : url;
    const movedFrom = before && origin(before.secret_origin) !== origin(siteUrl)
      ? origin(before.secret_origin)
      : null;
    return { tenantId: row.tenant_id as string, created: row.created as boolean, movedFrom };
  });
}

export async function listTenants(sql: Sql): Promise<TenantRow[]> {
  const rows = await sql`
    select t.tenant_id, t.slug, t.name, t.timezone, t.is_active, t.created_at, c.site_url
    from public.tenant_registry t left join private.motopress_credentials c using (tenant_id)
    order by t.slug`;
  return rows.map((r) => ({
    tenantId: r.tenant_id as string,
    slug: r.slug as string,
    name: r.name as string,
    timezone: r.timezone as string,
    isActive: r.is_active as boolean,
    siteUrl: (r.site_url as string | null) ?? null,
    createdAt: r.created_at as Date,
  }));
}

/** A slug or a tenant id, to the tenant's row; a UsageError naming the known slugs otherwise. */
export async function resolveTenant(sql: Sql, slugOrId: string): Promise<TenantRow> {
  const tenants = await listTenants(sql);
  const found = tenants.find((t) => t.slug === slugOrId || t.tenantId === slugOrId.toLowerCase());
  if (found) return found;
  const known = tenants.map((t) => t.slug).join(", ") || "none yet: npm run tenant -- add ...";
  throw new UsageError(`No tenant "${slugOrId}" (known: ${known}).`, false);
}

/** `--tenant` as given (slug or id) to the tenant id and a label; only a slug needs the database. */
export async function tenantFromArg(slugOrId: string): Promise<{ tenantId: string; label: string }> {
  if (isUuid(slugOrId)) return { tenantId: slugOrId, label: slugOrId };
  const { default: postgres } = await import("postgres");
  const sql = postgres(databaseUrl(), { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const t = await resolveTenant(sql, slugOrId);
    return { tenantId: t.tenantId, label: `${t.slug} (${t.tenantId})` };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
