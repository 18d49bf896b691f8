-- The health report's per-tenant counters as one SQL function (they were inline SQL in the command
-- center's handler): what "can the guest chat trust this tenant's data" counts lives beside the
-- schema that makes those counts zero. Read-only; the handler adds the runs and the quarantine list.
create function sync.tenant_health(p_tenant_id uuid default null)
returns table (
  tenant_id uuid,
  slug text,
  name text,
  timezone text,
  is_active boolean,
  last_accommodations timestamptz,
  last_bookings timestamptz,
  -- Must be 0: the schema makes it impossible, and this proves it on live data.
  reservations_without_room integer,
  -- Reservations with no junction row (written before this product existed): see the repair.
  reservations_without_rooms integer,
  quarantined_items integer,
  -- Units created from bookings that the accommodations sync has not completed yet.
  auto_created_units integer,
  -- Recorded by the room-status maintenance in the transaction that wrote the second stay.
  overbooking_conflicts integer,
  -- Must be 0: statuses the reconciliation found that no stay explained (last 7 days), repaired.
  room_status_drift integer,
  status_changes_24h integer,
  unit_statuses jsonb
)
language sql stable set search_path = '' as $$
  select t.tenant_id, t.slug, t.name, t.timezone, t.is_active,
    (select max(s.completed_at) from public.sync_runs s where s.tenant_id = t.tenant_id and s.status = 'completed'
       and s.source = 'motopress-accommodations'),
    (select max(s.completed_at) from public.sync_runs s where s.tenant_id = t.tenant_id and s.status = 'completed'
       and s.source = 'motopress-bookings'),
    (select count(*)::int from public.guest_reservations r
       where r.tenant_id = t.tenant_id
         and not exists (select 1 from hotels.accommodation_units u where u.id = r.accommodation_unit_id)),
    (select count(*)::int from public.guest_reservations r
       where r.tenant_id = t.tenant_id
         and not exists (select 1 from public.reservation_accommodations ra where ra.reservation_id = r.id)),
    (select count(*)::int from public.sync_quarantine q where q.tenant_id = t.tenant_id and q.resolved_at is null),
    (select count(*)::int from hotels.accommodation_units u
       where u.tenant_id = t.tenant_id and u.auto_created and u.removed_upstream_at is null),
    (select count(*)::int from hotels.booking_conflicts c where c.tenant_id = t.tenant_id and c.resolved_at is null),
    (select count(*)::int from hotels.room_status_changes c
       where c.tenant_id = t.tenant_id and c.cause = 'drift' and c.created_at > now() - interval '7 days'),
    (select count(*)::int from hotels.room_status_changes c
       where c.tenant_id = t.tenant_id and c.created_at > now() - interval '24 hours'),
    (select jsonb_object_agg(x.room_status, x.n) from (
       select u.room_status, count(*)::int as n from hotels.accommodation_units u
       where u.tenant_id = t.tenant_id and u.removed_upstream_at is null group by u.room_status) x)
  from public.tenant_registry t
  where p_tenant_id is null or t.tenant_id = p_tenant_id
  order by t.slug
$$;

revoke all on function sync.tenant_health(uuid) from public, anon, authenticated;
grant execute on function sync.tenant_health(uuid) to service_role;
