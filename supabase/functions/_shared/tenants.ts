import type { Sql } from "./db.ts";
import { ApiError } from "./http/errors.ts";
import { rememberCredentialPair } from "./redact.ts";

export interface Tenant {
  tenantId: string;
  slug: string;
  name: string;
  timezone: string;
  isActive: boolean;
}

export interface MotoPressCredentials {
  siteUrl: string;
  consumerKey: string;
  consumerSecret: string;
}

export async function findTenant(sql: Sql, tenantId: string): Promise<Tenant | null> {
  const [row] = await sql`
    select tenant_id, slug, name, timezone, is_active from public.tenant_registry where tenant_id = ${tenantId}`;
  return row
    ? { tenantId: row.tenant_id, slug: row.slug, name: row.name, timezone: row.timezone, isActive: row.is_active }
    : null;
}

const tenantNotFound = (tenantId: string) =>
  new ApiError(404, "TENANT_NOT_FOUND", `No tenant with id ${tenantId}.`, { tenantId });
const notConfigured = (tenantId: string) =>
  new ApiError(409, "TENANT_NOT_CONFIGURED", "This tenant has no MotoPress credentials; add them with `npm run tenant -- add`.", {
    tenantId,
  });

export async function requireTenant(sql: Sql, tenantId: string): Promise<Tenant> {
  const tenant = await findTenant(sql, tenantId);
  if (!tenant) throw tenantNotFound(tenantId);
  return tenant;
}

export async function activeTenants(sql: Sql): Promise<Tenant[]> {
  const rows = await sql`
    select tenant_id, slug, name, timezone, is_active from public.tenant_registry where is_active order by slug`;
  return rows.map((row) => ({
    tenantId: row.tenant_id,
    slug: row.slug,
    name: row.name,
    timezone: row.timezone,
    isActive: row.is_active,
  }));
}

export async function loadCredentials(sql: Sql, tenantId: string): Promise<MotoPressCredentials | null> {
  const [row] = await sql`
    select site_url, consumer_key, consumer_secret from private.motopress_credentials where tenant_id = ${tenantId}`;
  if (!row) return null;
  // From here on this isolate redacts them wherever they might surface.
  rememberCredentialPair(row.consumer_key, row.consumer_secret);
  return { siteUrl: row.site_url, consumerKey: row.consumer_key, consumerSecret: row.consumer_secret };
}

export async function requireCredentials(sql: Sql, tenantId: string): Promise<MotoPressCredentials> {
  const creds = await loadCredentials(sql, tenantId);
  if (!creds) throw notConfigured(tenantId);
  return creds;
}

/** A tenant that can be synced: 404 when unknown, 409 without credentials. One query. */
export async function requireSyncableTenant(sql: Sql, tenantId: string): Promise<void> {
  const [row] = await sql`
    select t.tenant_id, c.tenant_id is not null as configured
    from public.tenant_registry t left join private.motopress_credentials c on c.tenant_id = t.tenant_id
    where t.tenant_id = ${tenantId}`;
  if (!row) throw tenantNotFound(tenantId);
  if (!row.configured) throw notConfigured(tenantId);
}
