-- Room status grants, as 20261202001000_hosted_grants.sql sets them for every product table:
-- service_role reads (the guest chat, the console's readers); writes go through the functions,
-- which connect as the owner. Nothing for anon/authenticated.
revoke insert, update, delete, truncate, references, trigger
  on hotels.unit_blocks, hotels.room_status_changes, hotels.booking_conflicts, hotels.room_status_actions
  from service_role;
grant select on hotels.unit_blocks, hotels.room_status_changes, hotels.booking_conflicts, hotels.room_status_actions,
  public.reservation_room_status to service_role;
revoke all on hotels.unit_blocks, hotels.room_status_changes, hotels.booking_conflicts, hotels.room_status_actions,
  public.reservation_room_status from public, anon, authenticated;
