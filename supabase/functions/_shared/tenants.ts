import type { Sql } from "./db.ts";
import { TenantNotConfiguredError, TenantNotFoundError } from "./errors.ts";
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
    ? {
      tenantId: row.tenant_id,
      slug: row.slug,
      name: row.name,
      timezone: row.timezone,
      isActive: row.is_active,
    }
    : null;
}

const notConfigured = (tenantId: string) =>
  new TenantNotConfiguredError(
    tenantId,
    "This tenant has no MotoPress credentials; add them with `npm run tenant -- add`.",
  );

export async function requireTenant(sql: Sql, tenantId: string): Promise<Tenant> {
  const tenant = await findTenant(sql, tenantId);
  if (!tenant) throw new TenantNotFoundError(tenantId);
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

/** A tenant that can be synced: not found when unknown, not configured without credentials. One query. */
export async function requireSyncableTenant(sql: Sql, tenantId: string): Promise<void> {
  const [row] = await sql`
    select t.tenant_id, c.tenant_id is not null as configured
    from public.tenant_registry t left join private.motopress_credentials c on c.tenant_id = t.tenant_id
    where t.tenant_id = ${tenantId}`;
  if (!row) throw new TenantNotFoundError(tenantId);
  if (!row.configured) throw notConfigured(tenantId);
}
