// Hotels for the operator console: list (with the consumer key's last characters only; the secret
// is write-only and never leaves the database), add or edit, and test a connection to MotoPress.
// A stored key and secret go only to the origin they were entered for: moving a hotel's site to
// another origin needs them entered again, and a test of another origin uses only what it is given.
import { z } from "zod";
import type { Sql } from "../db.ts";
import { invalid } from "../http/body.ts";
import { ApiError } from "../http/errors.ts";
import { authNotice } from "../motopress/auth-notice.ts";
import { isMotoPressError } from "../motopress/errors.ts";
import { clientForCredentials } from "../sync/jobs.ts";
import {
  loadCredentials,
  type MotoPressCredentials,
  originOf,
  requireTenant,
  secretBelongsTo,
} from "../tenants.ts";
import { credentialText, lineText } from "../text.ts";
import type { FunctionDeps } from "../types.ts";

const uuid = z.uuid({ message: "Must be a tenant id (uuid)." });
const text = lineText;
const siteUrl = text(2000, "Site URL").refine((v) => {
  try {
    return /^https?:$/.test(new URL(v).protocol);
  } catch {
    return false;
  }
}, "Must be an http(s) URL, e.g. https://hotel.example.com.");

export const saveTenantSchema = z.strictObject({
  action: z.literal("save_tenant"),
  tenantId: uuid.optional(),
  slug: text(63, "Slug").regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    "Lowercase letters, digits and dashes, not starting with a dash.",
  ),
  name: text(200, "Name"),
  timezone: text(64, "Time zone"),
  siteUrl,
  /** Required for a new hotel or a new site origin; omitted on an edit, the stored key is kept. */
  consumerKey: credentialText(500, "Consumer key").optional(),
  /** Write-only: required for a new hotel or a new site origin; omitted on an edit, the stored secret is kept. */
  consumerSecret: credentialText(500, "Consumer secret").optional(),
  isActive: z.boolean({ message: "Must be true or false." }).optional(),
});

export const testConnectionSchema = z.strictObject({
  action: z.literal("test_connection"),
  /** With a tenant id, fields left out are taken from that hotel's stored credentials (same origin only). */
  tenantId: uuid.optional(),
  siteUrl: siteUrl.optional(),
  consumerKey: credentialText(500, "Consumer key").optional(),
  consumerSecret: credentialText(500, "Consumer secret").optional(),
});

/** The fields that must be entered again when `siteUrl` leaves the origin the stored secret belongs to. */
function reentryNeeded(
  stored: Pick<MotoPressCredentials, "secretOrigin"> | null,
  siteUrl: string,
  given: { consumerKey?: string; consumerSecret?: string },
  doing: string,
) {
  if (!stored || secretBelongsTo(stored, siteUrl)) return [];
  const from = originOf(stored.secretOrigin) ?? stored.secretOrigin;
  return (["consumerKey", "consumerSecret"] as const).filter((k) => !given[k]).map((field) => ({
    field,
    message: `Required: ${doing} ${originOf(siteUrl)}, and the stored key and secret are only ever sent to ` +
      `${from}, where they were entered. Enter them again for the new address.`,
  }));
}

const hint = (key: string) => (key.length <= 8 ? "…" : `${key.slice(0, 3)}…${key.slice(-4)}`);

export async function listTenants(sql: Sql) {
  const rows = await sql`
    select t.tenant_id, t.slug, t.name, t.timezone, t.is_active, t.created_at, t.updated_at,
      c.site_url, c.consumer_key,
      ${sourceStreak("motopress-accommodations")} as streak_accommodations,
      ${sourceStreak("motopress-bookings")} as streak_bookings
    from public.tenant_registry t left join private.motopress_credentials c on c.tenant_id = t.tenant_id
    order by t.slug`;
  return {
    tenants: rows.map((r) => ({
      tenantId: r.tenant_id,
      slug: r.slug,
      name: r.name,
      timezone: r.timezone,
      isActive: r.is_active,
      siteUrl: r.site_url ?? null,
      consumerKeyHint: r.consumer_key ? hint(r.consumer_key) : null,
      configured: r.site_url != null,
      // Failed runs since the last completed one, per source: a streak means "look at this hotel".
      errorStreak: { accommodations: r.streak_accommodations, bookings: r.streak_bookings },
    })),
  };

  function sourceStreak(source: string) {
    return sql`(select count(*)::int from public.sync_runs s
      where s.tenant_id = t.tenant_id and s.source = ${source} and s.status = 'failed'
        and s.started_at > coalesce((select max(started_at) from public.sync_runs d
          where d.tenant_id = t.tenant_id and d.source = ${source} and d.status = 'completed'), '-infinity'))`;
  }
}

export async function saveTenant(sql: Sql, body: z.infer<typeof saveTenantSchema>) {
  const [{ ok }] =
    await sql`select exists (select 1 from pg_timezone_names where name = ${body.timezone}) as ok`;
  if (!ok) {
    throw invalid([{
      field: "timezone",
      message: "Not a time zone PostgreSQL knows (e.g. Europe/Madrid, UTC).",
    }]);
  }
  if (!body.tenantId) {
    const missing = (["consumerKey", "consumerSecret"] as const).filter((k) => !body[k]);
    if (missing.length) {
      throw invalid(missing.map((field) => ({ field, message: "Required for a new hotel." })));
    }
  }
  const site = body.siteUrl.replace(/\/+$/, "");
  // The secret is entered for a site: with a new one it is sent to the new origin, and only there.
  const given = { consumerKey: body.consumerKey, consumerSecret: body.consumerSecret };
  const newOrigin = body.consumerKey || body.consumerSecret ? originOf(site) : null;
  const slugTaken = () =>
    new ApiError(409, "INVALID_OPERATION", `Another hotel already uses the slug "${body.slug}".`, {
      reasons: [`The slug "${body.slug}" is taken; choose another.`],
    });
  // The unique index decides a race between two saves of one slug; the check below only words it.
  return await sql.begin(async (tx) => {
    const [clash] = await tx`
      select tenant_id from public.tenant_registry where slug = ${body.slug}
        and (${body.tenantId ?? null}::uuid is null or tenant_id <> ${body.tenantId ?? null})`;
    if (clash) throw slugTaken();
    let tenantId: string;
    if (body.tenantId) {
      const [row] = await tx`
        update public.tenant_registry
        set slug = ${body.slug}, name = ${body.name}, timezone = ${body.timezone},
            is_active = coalesce(${body.isActive ?? null}::boolean, is_active), updated_at = now()
        where tenant_id = ${body.tenantId} returning tenant_id`;
      if (!row) {
        throw new ApiError(404, "TENANT_NOT_FOUND", `No tenant with id ${body.tenantId}.`, {
          tenantId: body.tenantId,
        });
      }
      tenantId = row.tenant_id;
      // Read under the row lock, so that two saves cannot both judge the same stored origin.
      const [stored] = await tx`
        select secret_origin from private.motopress_credentials where tenant_id = ${tenantId} for update`;
      const reenter = reentryNeeded(
        stored ? { secretOrigin: stored.secret_origin } : null,
        site,
        given,
        "the site moves to",
      );
      if (reenter.length) throw invalid(reenter);
      const updated = await tx`
        update private.motopress_credentials
        set site_url = ${site}, consumer_key = coalesce(${body.consumerKey ?? null}, consumer_key),
            consumer_secret = coalesce(${body.consumerSecret ?? null}, consumer_secret),
            secret_origin = coalesce(${newOrigin}, secret_origin), updated_at = now()
        where tenant_id = ${tenantId} returning tenant_id`;
      if (updated.length === 0) {
        const missing = (["consumerKey", "consumerSecret"] as const).filter((k) => !body[k]);
        if (missing.length) {
          throw invalid(
            missing.map((field) => ({
              field,
              message: "Required: this hotel has no stored credentials yet.",
            })),
          );
        }
        await tx`
          insert into private.motopress_credentials (tenant_id, site_url, consumer_key, consumer_secret)
          values (${tenantId}, ${site}, ${body.consumerKey!}, ${body.consumerSecret!})`;
      }
    } else {
      const [row] = await tx`
        insert into public.tenant_registry (slug, name, timezone, is_active)
        values (${body.slug}, ${body.name}, ${body.timezone}, ${body.isActive ?? true}) returning tenant_id`;
      tenantId = row.tenant_id;
      await tx`
        insert into private.motopress_credentials (tenant_id, site_url, consumer_key, consumer_secret)
        values (${tenantId}, ${site}, ${body.consumerKey!}, ${body.consumerSecret!})`;
    }
    return { tenantId, created: !body.tenantId };
  }).catch((err) => {
    if ((err as { code?: string })?.code === "23505") throw slugTaken();
    throw err;
  });
}

/**
 * One request per list (first page): proves the URL, the keys and the API, and counts what is there.
 * Through the same outbound policy as a sync. Stored values fill only what the request leaves out,
 * and the stored key and secret only for the origin they were entered for.
 */
export async function testConnection(
  deps: Pick<FunctionDeps, "sql" | "config" | "resolveHost">,
  body: z.infer<typeof testConnectionSchema>,
) {
  const { sql, config } = deps;
  const stored = body.tenantId
    ? (await requireTenant(sql, body.tenantId), await loadCredentials(sql, body.tenantId))
    : null;
  const siteUrl = body.siteUrl ?? stored?.siteUrl;
  if (siteUrl && stored && !secretBelongsTo(stored, siteUrl)) {
    const reenter = reentryNeeded(stored, siteUrl, body, "the test goes to");
    if (reenter.length) throw invalid(reenter);
  }
  const useStored = !!siteUrl && !!stored && secretBelongsTo(stored, siteUrl);
  const creds = {
    siteUrl,
    consumerKey: body.consumerKey ?? (useStored ? stored!.consumerKey : undefined),
    consumerSecret: body.consumerSecret ?? (useStored ? stored!.consumerSecret : undefined),
  };
  const missing = (Object.keys(creds) as (keyof typeof creds)[]).filter((k) => !creds[k]);
  if (missing.length) {
    throw invalid(missing.map((field) => ({ field, message: "Required (no stored value to use)." })));
  }
  const client = clientForCredentials(deps, {
    siteUrl: creds.siteUrl!.replace(/\/+$/, ""),
    consumerKey: creds.consumerKey!,
    consumerSecret: creds.consumerSecret!,
  }, {
    timeoutMs: Math.min(config.motopress.timeoutMs, 15_000),
    maxRetries: 1,
    concurrency: 1,
    perPage: 1,
  });
  const totals: Record<string, number> = {};
  try {
    for (
      const [name, pages] of [
        ["accommodationTypes", client.accommodationTypes()],
        ["accommodations", client.accommodations()],
        ["bookings", client.bookings()],
      ] as const
    ) {
      for await (const page of pages) {
        totals[name] = page.total;
        break;
      }
      totals[name] ??= 0;
    }
  } catch (err) {
    if (!isMotoPressError(err)) throw err;
    return {
      ok: false as const,
      code: err.code,
      message: err.message,
      status: err.status,
      auth: authNotice(client.describe()),
    };
  }
  // Working, but over query-string keys: the secret reaches the site's logs; the answer says so.
  const auth = authNotice(client.describe());
  const counts =
    `${totals.accommodationTypes} accommodation types, ${totals.accommodations} accommodations, ${totals.bookings} bookings`;
  return {
    ok: true as const,
    message: auth ? `Connected, over query-string keys: ${counts}. ${auth.warning}` : `Connected: ${counts}.`,
    totals,
    auth,
  };
}
