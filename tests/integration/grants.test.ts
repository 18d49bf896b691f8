// Grants as a hosted reader sees them. The baseline mirrors a current hosted project (no default
// privileges for the API roles), so whatever is readable here was granted by a migration. Readers
// go through the Data API, which runs their queries `set role service_role` (or anon /
// authenticated for the public keys): exactly what these tests do.
//
// Table-driven from the contract: add a row to READERS when the contract adds a table.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, insertTenant, type TestDatabase } from "../helpers/db.ts";

interface Reader {
  relation: string;
  /** The contract's key columns: what a reader selects. */
  columns: string[];
  /** Contract §6 (room status) objects arrive with their own branch; checked once they exist. */
  optional?: boolean;
}

const READERS: Reader[] = [
  { relation: "public.tenant_registry", columns: ["tenant_id", "slug", "name", "timezone"] },
  { relation: "hotels.accommodation_types", columns: ["id", "tenant_id", "motopress_type_id", "name"] },
  {
    relation: "hotels.accommodation_units",
    columns: ["id", "tenant_id", "accommodation_type_id", "motopress_unit_id", "motopress_type_id", "name"],
  },
  {
    relation: "public.guest_reservations",
    columns: [
      "id",
      "tenant_id",
      "external_booking_id",
      "accommodation_unit_id",
      "status",
      "check_in_date",
      "check_out_date",
      "guest_name",
      "guest_phone_last4",
      "adults",
      "children",
      "kind",
      "removed_upstream_at",
    ],
  },
  {
    relation: "public.reservation_accommodations",
    columns: ["reservation_id", "accommodation_unit_id", "motopress_type_id", "motopress_accommodation_id"],
  },
  {
    relation: "public.sync_runs",
    columns: [
      "id",
      "tenant_id",
      "source",
      "status",
      "trigger",
      "parent_run_id",
      "started_at",
      "heartbeat_at",
      "completed_at",
      "error_code",
      "error_message",
      "stats",
    ],
  },
  { relation: "hotels.unit_blocks", columns: ["id", "tenant_id", "accommodation_unit_id"], optional: true },
  { relation: "hotels.room_status_changes", columns: ["tenant_id", "accommodation_unit_id"], optional: true },
  { relation: "hotels.booking_conflicts", columns: ["tenant_id", "accommodation_unit_id"], optional: true },
  { relation: "public.reservation_room_status", columns: ["tenant_id", "reservation_id"], optional: true },
];

const API_ROLES = ["anon", "authenticated"] as const;
const PRODUCT_SCHEMAS = ["public", "hotels", "sync", "private"];

let db: TestDatabase;
let tenant: string;

beforeAll(async () => {
  db = await createTestDatabase(2);
  tenant = await insertTenant(db.sql);
  const [type] = await db.sql`
    insert into hotels.accommodation_types (tenant_id, motopress_type_id, name) values (${tenant}, 1, 'Double')
    returning id`;
  const [unit] = await db.sql`
    insert into hotels.accommodation_units (tenant_id, accommodation_type_id, motopress_unit_id, motopress_type_id, name)
    values (${tenant}, ${type.id}, 11, 1, 'Room 11') returning id`;
  const [res] = await db.sql`
    insert into public.guest_reservations (tenant_id, external_booking_id, accommodation_unit_id, status, kind,
      check_in_date, check_out_date)
    values (${tenant}, '501', ${unit.id}, 'confirmed', 'direct', '2026-12-01', '2026-12-03') returning id`;
  await db.sql`
    insert into public.reservation_accommodations (tenant_id, reservation_id, position, accommodation_unit_id,
      motopress_type_id, motopress_accommodation_id)
    values (${tenant}, ${res.id}, 0, ${unit.id}, 1, 11)`;
  await db.sql`
    insert into public.sync_runs (tenant_id, source, status, completed_at)
    values (${tenant}, 'motopress-bookings', 'completed', now())`;
  await db.sql`insert into private.motopress_credentials (tenant_id, site_url, consumer_key, consumer_secret)
               values (${tenant}, 'https://hotel.example', 'ck_grants', 'cs_grants')`;
});
afterAll(() => db?.drop());

/** Runs `query` as `role` in a transaction that is rolled back; the error code when it fails. */
async function as(role: string, query: string): Promise<{ rows: number } | { code: string }> {
  return await db.sql.begin(async (tx) => {
    await tx.unsafe(`set local role ${role}`);
    const rows = await tx.unsafe(query);
    return { rows: rows.length };
  }).catch((e) => ({ code: e.code as string }));
}

const exists = async (relation: string) =>
  (await db.sql`select to_regclass(${relation}) is not null as ok`)[0].ok as boolean;

describe("grants as a hosted reader sees them", () => {
  it("the baseline leaves no default privileges for the API roles (as a current hosted project)", async () => {
    const defaults = await db.sql`
      select pg_get_userbyid(d.defaclrole) as owner, n.nspname, d.defaclobjtype, d.defaclacl::text as acl
      from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace
      where d.defaclacl::text ~ '(anon|authenticated|service_role)='`;
    expect(defaults).toEqual([]);
  });

  it.each(READERS)(
    "service_role reads $relation (the contract's columns)",
    async ({ relation, columns, optional }) => {
      if (optional && !(await exists(relation))) return; // not built yet on this branch (contract §6)
      const result = await as("service_role", `select ${columns.join(", ")} from ${relation}`);
      expect(result, `${relation} as service_role`).not.toHaveProperty("code");
      if (!optional) expect((result as { rows: number }).rows, `${relation} rows`).toBeGreaterThan(0);
    },
  );

  it.each(READERS.flatMap((r) => API_ROLES.map((role) => ({ ...r, role }))))(
    "$role reads nothing from $relation",
    async ({ relation, role, optional }) => {
      if (optional && !(await exists(relation))) return;
      const result = await as(role, `select * from ${relation}`);
      // No privilege at all: permission denied (42501), not an empty, RLS-filtered answer.
      expect(result).toEqual({ code: "42501" });
    },
  );

  it("credentials: anon and authenticated are refused; service_role is not a reader of them through the API schemas", async () => {
    for (const role of API_ROLES) {
      expect(await as(role, "select consumer_secret from private.motopress_credentials")).toEqual({
        code: "42501",
      });
    }
    const [{ exposed }] = await db.sql`
      select has_schema_privilege('anon', 'private', 'usage') or has_schema_privilege('authenticated', 'private', 'usage') as exposed`;
    expect(exposed).toBe(false);
  });

  // The sweep: every relation in the product's schemas, present and future. A new table without
  // explicit grants fails here.
  const sweep = `
    select n.nspname || '.' || c.relname as relation,
      has_table_privilege('service_role', c.oid, 'select') as service_role_reads,
      (select array_agg(r.role || ':' || p.priv order by r.role, p.priv)
         from unnest(array['anon', 'authenticated']) r(role),
              unnest(array['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger']) p(priv)
        where has_table_privilege(r.role, c.oid, p.priv)) as api_role_privileges
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any ($1) and c.relkind in ('r', 'v', 'm', 'p', 'f')
    order by 1`;

  it("every table and view in public and hotels: service_role may read it, anon/authenticated hold no privilege", async () => {
    const rows = await db.sql.unsafe(sweep, [["public", "hotels"]]);
    expect(rows.length).toBeGreaterThanOrEqual(8);
    expect(rows.filter((r) => !r.service_role_reads).map((r) => r.relation)).toEqual([]);
    expect(rows.filter((r) => r.api_role_privileges).map((r) => `${r.relation} ${r.api_role_privileges}`))
      .toEqual([]);
  });

  it("the sweep catches a table created without grants", async () => {
    const found = await db.sql.begin(async (tx) => {
      await tx`create table public.ungranted (id int primary key)`;
      await tx`alter table public.ungranted enable row level security`;
      const rows = await tx.unsafe(sweep, [["public"]]);
      throw Object.assign(new Error("rollback"), { rows });
    }).catch((e) => e.rows as { relation: string; service_role_reads: boolean }[]);
    expect(found.find((r) => r.relation === "public.ungranted")?.service_role_reads).toBe(false);
  });

  it("anon and authenticated cannot use the internal schemas, so no internal function is callable", async () => {
    const rows = await db.sql`
      select r.role, s.schema from unnest(array['anon', 'authenticated']) r(role), unnest(${
      PRODUCT_SCHEMAS.slice(1)
    }::text[]) s(schema)
      where has_schema_privilege(r.role, s.schema, 'usage')`;
    expect(rows).toEqual([]);
    for (const role of API_ROLES) {
      expect(await as(role, "select sync.setting('sync_admin_key')")).toEqual({ code: "42501" });
    }
    // The admin key's function is not even service_role's to call.
    expect(await as("service_role", "select sync.setting('sync_admin_key')")).toEqual({ code: "42501" });
  });
});
