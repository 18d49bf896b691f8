import type { Sql } from "./db.ts";
import { InvalidOperationError, TenantNotConfiguredError, TenantNotFoundError } from "./errors.ts";
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
  /** The origin the key and secret were entered for: the only one they are ever sent to. */
  secretOrigin: string;
}

/** A URL's origin (scheme, host, port) as the browser and fetch compare it; null when it is no URL. */
export function originOf(url: string): string | null {
  try {
    const origin = new URL(url).origin;
    return origin === "null" ? null : origin;
  } catch {
    return null;
  }
}

/** True when `siteUrl` is on the origin the stored key and secret were entered for. */
export function secretBelongsTo(creds: Pick<MotoPressCredentials, "secretOrigin">, siteUrl: string): boolean {
  const origin = originOf(siteUrl);
  return origin !== null && origin === originOf(creds.secretOrigin);
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

/** An inactive hotel is not synced, whoever asks (the all-tenants run leaves it out too). */
const inactive = (tenantId: string) =>
  new InvalidOperationError(`Tenant ${tenantId} is inactive; it is not synced.`, [
    "The hotel is inactive (is_active = false). Activate it (save_tenant with isActive: true) to sync it.",
  ], { tenantId });

/** A tenant that exists and is active: what a sync named by id needs (404, 409 otherwise). */
export async function requireActiveTenant(sql: Sql, tenantId: string): Promise<Tenant> {
  const tenant = await requireTenant(sql, tenantId);
  if (!tenant.isActive) throw inactive(tenantId);
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
    select site_url, consumer_key, consumer_secret, secret_origin
    from private.motopress_credentials where tenant_id = ${tenantId}`;
  if (!row) return null;
  // From here on this isolate redacts them wherever they might surface.
  rememberCredentialPair(row.consumer_key, row.consumer_secret);
  return {
    siteUrl: row.site_url,
    consumerKey: row.consumer_key,
    consumerSecret: row.consumer_secret,
    secretOrigin: row.secret_origin,
  };
}

/**
 * The tenant's credentials for a sync. A site URL moved to another origin than the key and secret
 * were entered for (by any writer) is refused before anything is sent: the secret would go to a
 * host the hotel never gave it to. A site URL that is no URL at all is left to the client's check.
 */
export async function requireCredentials(sql: Sql, tenantId: string): Promise<MotoPressCredentials> {
  const creds = await loadCredentials(sql, tenantId);
  if (!creds) throw notConfigured(tenantId);
  if (originOf(creds.siteUrl) !== null && !secretBelongsTo(creds, creds.siteUrl)) {
    throw new TenantNotConfiguredError(
      tenantId,
      `The site URL's origin (${originOf(creds.siteUrl)}) is not the one the consumer key and secret were ` +
        `entered for (${
          originOf(creds.secretOrigin) ?? creds.secretOrigin
        }); they are never sent to another ` +
        "host. Enter the key and secret again with the new site URL (console, save_tenant, or `npm run tenant -- add`).",
    );
  }
  return creds;
}

/**
 * A tenant that can be synced: not found when unknown, refused when inactive, not configured
 * without credentials. One query.
 */
export async function requireSyncableTenant(sql: Sql, tenantId: string): Promise<void> {
  const [row] = await sql`
    select t.tenant_id, t.is_active, c.tenant_id is not null as configured
    from public.tenant_registry t left join private.motopress_credentials c on c.tenant_id = t.tenant_id
    where t.tenant_id = ${tenantId}`;
  if (!row) throw new TenantNotFoundError(tenantId);
  if (!row.is_active) throw inactive(tenantId);
  if (!row.configured) throw notConfigured(tenantId);
}
