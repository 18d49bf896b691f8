-- Placeholders get their names. A booking may name a unit or type that no list ever showed (moved
-- to the trash, or deleted, before the hotel's first sync): the page creates a placeholder
-- ("Accommodation #21", auto_created) so the reservation keeps its room. After each pass the sync
-- asks MotoPress for each remaining placeholder by id, which answers trashed and draft posts with
-- their real title and status, and a 404 for a deleted one.
--
-- A removed unit or type also says so in its `status`: the post status MotoPress gave (trash,
-- draft), `deleted` for a 404, `removed` where the removal check knows only that it is gone.

-- The placeholders not resolved yet, in id order after a position (the step survives continuations).
-- Type 0 ("Unknown accommodation type") has no id to ask for.
create function sync.placeholder_candidates(p_tenant_id uuid, p_entity text, p_after integer, p_limit integer)
returns table (motopress_id integer)
language sql stable set search_path = '' as $$
  select c.id from (
    select u.motopress_unit_id as id from hotels.accommodation_units u
    where p_entity = 'accommodation' and u.tenant_id = p_tenant_id and u.auto_created
      and u.removed_upstream_at is null and u.motopress_unit_id > p_after
    union all
    select t.motopress_type_id from hotels.accommodation_types t
    where p_entity = 'accommodation_type' and t.tenant_id = p_tenant_id and t.auto_created
      and t.removed_upstream_at is null and t.motopress_type_id > p_after
  ) c
  order by c.id
  limit p_limit
$$;

-- One placeholder from MotoPress's answer by id. `p_item` null (a 404): marked removed, its
-- placeholder name kept (and still auto_created: nothing real is known of it). Otherwise
-- {name, status, type_id}: the real name (a unit's type too, created as a placeholder when unknown),
-- no longer auto_created, and removed when its status is trash, draft or auto-draft. Returns
-- 'named', 'named_removed' or 'gone'; nothing changes for a row that is no longer a placeholder.
create function sync.resolve_placeholder(p_tenant_id uuid, p_entity text, p_id integer, p_item jsonb)
returns text
language plpgsql volatile set search_path = '' as $$
declare
  v_live boolean := p_item is not null
    and coalesce(p_item ->> 'status', 'publish') not in ('trash', 'draft', 'auto-draft');
  v_type_id integer := nullif(p_item ->> 'type_id', '')::integer;
  v_type uuid;
begin
  if p_entity = 'accommodation' then
    if v_type_id is not null then
      perform sync.ensure_accommodation_types(p_tenant_id, array[v_type_id]);
      select ty.id into v_type from hotels.accommodation_types ty
      where ty.tenant_id = p_tenant_id and ty.motopress_type_id = v_type_id;
    end if;
    update hotels.accommodation_units u set
      name = coalesce(p_item ->> 'name', u.name),
      accommodation_type_id = coalesce(v_type, u.accommodation_type_id),
      motopress_type_id = coalesce(v_type_id, u.motopress_type_id),
      status = case when p_item is null then 'deleted' else coalesce(p_item ->> 'status', 'publish') end,
      auto_created = p_item is null,
      removed_upstream_at = case when v_live then null else coalesce(u.removed_upstream_at, now()) end,
      updated_at = now()
    where u.tenant_id = p_tenant_id and u.motopress_unit_id = p_id and u.auto_created;
  elsif p_entity = 'accommodation_type' then
    update hotels.accommodation_types t set
      name = coalesce(p_item ->> 'name', t.name),
      status = case when p_item is null then 'deleted' else coalesce(p_item ->> 'status', 'publish') end,
      auto_created = p_item is null,
      removed_upstream_at = case when v_live then null else coalesce(t.removed_upstream_at, now()) end,
      updated_at = now()
    where t.tenant_id = p_tenant_id and t.motopress_type_id = p_id and t.auto_created;
  else
    raise exception 'unknown entity %', p_entity;
  end if;
  return case when p_item is null then 'gone' when v_live then 'named' else 'named_removed' end;
end $$;

-- As before (the rows confirmed gone, and with p_forget_seen what the pass saw), and a unit or
-- type marked gone no longer keeps a live post status.
create or replace function sync.mark_removed_upstream(p_tenant_id uuid, p_run_id uuid, p_entity text, p_gone text[],
  p_forget_seen boolean)
returns integer
language plpgsql set search_path = '' as $$
declare
  v_count integer;
begin
  if p_entity = 'booking' then
    update public.guest_reservations r set removed_upstream_at = now(), updated_at = now()
    where r.tenant_id = p_tenant_id and r.removed_upstream_at is null and r.external_booking_id = any (p_gone);
  elsif p_entity = 'accommodation' then
    update hotels.accommodation_units u set removed_upstream_at = now(), updated_at = now(),
      status = case when u.status in ('publish', 'private', 'pending') then 'removed' else u.status end
    where u.tenant_id = p_tenant_id and u.removed_upstream_at is null and u.motopress_unit_id::text = any (p_gone);
  elsif p_entity = 'accommodation_type' then
    update hotels.accommodation_types t set removed_upstream_at = now(), updated_at = now(),
      status = case when t.status in ('publish', 'private', 'pending') then 'removed' else t.status end
    where t.tenant_id = p_tenant_id and t.removed_upstream_at is null and t.motopress_type_id::text = any (p_gone);
  else
    raise exception 'unknown entity %', p_entity;
  end if;
  get diagnostics v_count = row_count;
  if p_forget_seen then
    delete from sync.run_seen where run_id = p_run_id and entity = p_entity;
  end if;
  return v_count;
end $$;

-- Units and types already marked gone say so.
update hotels.accommodation_units set status = 'removed'
where removed_upstream_at is not null and status in ('publish', 'private', 'pending');
update hotels.accommodation_types set status = 'removed'
where removed_upstream_at is not null and status in ('publish', 'private', 'pending');

revoke all on function sync.placeholder_candidates(uuid, text, integer, integer),
  sync.resolve_placeholder(uuid, text, integer, jsonb) from public, anon, authenticated;
grant execute on function sync.placeholder_candidates(uuid, text, integer, integer),
  sync.resolve_placeholder(uuid, text, integer, jsonb) to service_role;
