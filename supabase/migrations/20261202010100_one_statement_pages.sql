-- Issue 13: a bookings page in one statement, outside any transaction block. BEGIN and COMMIT are
-- a round trip each, and with postgres.js's `prepare: false` (the transaction pooler's condition)
-- every parameterised statement is two; at 1 ms RTT those waits were most of a page's cost.
--
-- A statement outside a transaction block is a transaction of its own, so a page that is one
-- statement is as atomic as the page's transaction was: its fence, writes, checkpoint and stats
-- commit together or not at all. The writer takes one of two ways per page, guessed from the page
-- before it:
--   * check first (re-syncs): sync.check_bookings_page compares the page's hashes. An unchanged
--     page ends there, its checkpoint, seen ids and stats recorded by that statement; otherwise it
--     writes nothing but the heartbeat, and the changed bookings go to sync.commit_bookings_page;
--   * write at once (imports): every booking validated and mapped, and sync.commit_bookings_page
--     writes those that differ.
-- sync.bookings_page_unchanged stays for the functions deployed before this migration, until they
-- are replaced; a later migration can drop it.

-- With p_token null the caller fenced already, in its own transaction.
create function sync.check_bookings_page(p_tenant_id uuid, p_run_id uuid, p_token bigint, p_checkpoint jsonb,
  p_ids integer[], p_hashes text[], p_stats jsonb)
returns table (owned boolean, changed integer[])
language plpgsql volatile set search_path = '' as $$
declare
  v_same integer[];
  v_changed integer[];
  v_done boolean;
begin
  -- Reads first: the fence then knows whether this statement is the whole page (and records its
  -- checkpoint and stats) or only proves the run is still ours.
  select coalesce(array_agg(i.id) filter (where s.id is not null), '{}'),
         coalesce(array_agg(i.id) filter (where s.id is null), '{}')
    into v_same, v_changed
  from unnest(p_ids, p_hashes) as i(id, hash)
  left join lateral (
    select r.id from public.guest_reservations r
    where r.tenant_id = p_tenant_id and r.external_booking_id = i.id::text and r.content_hash = i.hash
      and r.removed_upstream_at is null
      and not exists (select 1 from public.sync_quarantine q
                      where q.tenant_id = p_tenant_id and q.entity = 'booking' and q.external_id = i.id::text
                        and q.resolved_at is null)
    limit 1) s on i.hash is not null;
  v_done := cardinality(v_changed) = 0;
  if p_token is not null and not sync.fence_run(p_run_id, p_token,
       case when v_done then p_checkpoint end, case when v_done then p_stats end) then
    return query select false, null::integer[];
    return;
  end if;
  -- A page with changes records its seen ids with its writes (sync.commit_bookings_page).
  if v_done and cardinality(v_same) > 0 then
    perform sync.mark_seen(p_run_id, 'booking', v_same);
  end if;
  return query select true, v_changed;
end $$;

-- The page's writes (sync.write_bookings_page) behind its fence, which records the checkpoint.
create function sync.commit_bookings_page(p_tenant_id uuid, p_run_id uuid, p_token bigint, p_checkpoint jsonb,
  p_reservations jsonb, p_rooms jsonb, p_seen integer[], p_valid text[], p_quarantine jsonb, p_stats jsonb)
returns table (owned boolean, types_created integer, units_created integer, inserted integer, updated integer,
  rooms_written integer, rooms_removed integer, quarantined integer, resolved integer)
language plpgsql volatile set search_path = '' as $$
begin
  if p_token is not null and not sync.fence_run(p_run_id, p_token, p_checkpoint, null) then
    return query select false, 0, 0, 0, 0, 0, 0, 0, 0;
    return;
  end if;
  return query select true, w.* from sync.write_bookings_page(p_tenant_id, p_run_id, p_reservations, p_rooms,
    p_seen, p_valid, p_quarantine, p_stats) w;
end $$;

revoke all on function sync.check_bookings_page(uuid, uuid, bigint, jsonb, integer[], text[], jsonb),
  sync.commit_bookings_page(uuid, uuid, bigint, jsonb, jsonb, jsonb, integer[], text[], jsonb, jsonb)
  from public, anon, authenticated;
grant execute on function sync.check_bookings_page(uuid, uuid, bigint, jsonb, integer[], text[], jsonb),
  sync.commit_bookings_page(uuid, uuid, bigint, jsonb, jsonb, jsonb, integer[], text[], jsonb, jsonb)
  to service_role;
