import type { Sql } from "./db.ts";
import { ApiError } from "./http/errors.ts";

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

export async function requireTenant(sql: Sql, tenantId: string): Promise<Tenant> {
  const tenant = await findTenant(sql, tenantId);
  if (!tenant) throw new ApiError(404, "TENANT_NOT_FOUND", `No tenant with id ${tenantId}.`, { tenantId });
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
  return row ? { siteUrl: row.site_url, consumerKey: row.consumer_key, consumerSecret: row.consumer_secret } : null;
}

export async function requireCredentials(sql: Sql, tenantId: string): Promise<MotoPressCredentials> {
  const creds = await loadCredentials(sql, tenantId);
  if (!creds) {
    throw new ApiError(409, "TENANT_NOT_CONFIGURED", "This tenant has no MotoPress credentials; add them with `npm run tenant -- add`.", {
      tenantId,
    });
  }
  return creds;
}
