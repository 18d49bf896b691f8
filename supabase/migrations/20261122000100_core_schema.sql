-- Tenants, their MotoPress credentials, the hotel inventory and the reservations the guest chat reads.
-- Tenancy is part of every foreign key, so a reservation can only ever point at a room of its own hotel.

create schema if not exists hotels;
create schema if not exists private;

-- Credentials and sync internals are for the functions (postgres / service_role) only.
revoke all on schema private from public, anon, authenticated;
grant usage on schema private to service_role;
grant usage on schema hotels to service_role;

create table public.tenant_registry (
  tenant_id uuid primary key default gen_random_uuid(),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text not null check (length(name) between 1 and 200),
  timezone text not null default 'UTC',
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.tenant_registry enable row level security;

create table private.motopress_credentials (
  tenant_id uuid primary key references public.tenant_registry (tenant_id) on delete cascade,
  site_url text not null check (site_url ~ '^https?://'),
  consumer_key text not null,
  consumer_secret text not null,
  updated_at timestamptz not null default now()
);
revoke all on private.motopress_credentials from public, anon, authenticated;
grant select, insert, update, delete on private.motopress_credentials to service_role;

create table hotels.accommodation_types (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenant_registry (tenant_id) on delete cascade,
  -- 0 is the placeholder for units whose type MotoPress does not say (it sends 0).
  motopress_type_id integer not null check (motopress_type_id >= 0),
  name text not null,
  status text not null default 'publish',
  description text not null default '',
  excerpt text not null default '',
  adults integer,
  children integer,
  total_capacity integer,
  bed_type text,
  size integer,
  view text,
  details jsonb not null default '{}',
  -- Hash of the descriptive text the guest chat embeds; the embedding job records what it embedded
  -- in embedded_content_hash, so unchanged content never needs re-embedding.
  content_hash text,
  embedded_content_hash text,
  needs_embedding boolean generated always as (content_hash is distinct from embedded_content_hash) stored,
  -- Created from a booking's data before the accommodations sync had seen it; completed later.
  auto_created boolean not null default false,
  removed_upstream_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, motopress_type_id),
  unique (tenant_id, id)
);
alter table hotels.accommodation_types enable row level security;

create table hotels.accommodation_units (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenant_registry (tenant_id) on delete cascade,
  accommodation_type_id uuid not null,
  motopress_unit_id integer not null check (motopress_unit_id > 0),
  motopress_type_id integer not null,
  name text not null,
  status text not null default 'publish',
  auto_created boolean not null default false,
  removed_upstream_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, motopress_unit_id),
  unique (tenant_id, id),
  foreign key (tenant_id, accommodation_type_id) references hotels.accommodation_types (tenant_id, id)
);
create index accommodation_units_type_idx on hotels.accommodation_units (tenant_id, accommodation_type_id);
alter table hotels.accommodation_units enable row level security;

create table public.guest_reservations (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenant_registry (tenant_id) on delete cascade,
  external_booking_id text not null,
  -- The first booked room. NOT NULL plus the foreign key make a reservation without its room
  -- impossible, whatever the code does (seed incident 1).
  accommodation_unit_id uuid not null,
  status text not null,
  kind text not null check (kind in ('direct', 'imported', 'block')),
  check_in_date date not null,
  check_out_date date not null check (check_out_date >= check_in_date),
  guest_name text,
  guest_email text,
  guest_phone text,
  guest_country text,
  guest_phone_last4 text,
  -- The OTA's reservation code (Airbnb's HM…), read from the iCal description.
  external_reference text,
  adults integer,
  children integer,
  total_price numeric(12, 2),
  currency text,
  ical_prodid text,
  ical_summary text,
  ical_description text,
  booked_at timestamptz,
  removed_upstream_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, external_booking_id),
  unique (tenant_id, id),
  foreign key (tenant_id, accommodation_unit_id) references hotels.accommodation_units (tenant_id, id)
);
create index guest_reservations_unit_idx on public.guest_reservations (tenant_id, accommodation_unit_id);
create index guest_reservations_stay_idx on public.guest_reservations (tenant_id, check_in_date, check_out_date);
alter table public.guest_reservations enable row level security;

create table public.reservation_accommodations (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  reservation_id uuid not null,
  -- Index of the room in the booking's reserved_accommodations: a booking may reserve the same
  -- unit twice, so the unit alone is not a key.
  position smallint not null check (position >= 0),
  accommodation_unit_id uuid not null,
  motopress_type_id integer not null,
  motopress_accommodation_id integer not null,
  adults integer,
  children integer,
  guest_name text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (reservation_id, position),
  foreign key (tenant_id, reservation_id) references public.guest_reservations (tenant_id, id) on delete cascade,
  foreign key (tenant_id, accommodation_unit_id) references hotels.accommodation_units (tenant_id, id)
);
create index reservation_accommodations_unit_idx on public.reservation_accommodations (tenant_id, accommodation_unit_id);
alter table public.reservation_accommodations enable row level security;

-- Upstream records that failed validation: kept with their reason, counted by the health report.
create table public.sync_quarantine (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenant_registry (tenant_id) on delete cascade,
  entity text not null check (entity in ('accommodation_type', 'accommodation', 'booking')),
  external_id text not null,
  reason text not null,
  payload jsonb,
  run_id uuid,
  first_seen_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  resolved_at timestamptz,
  unique (tenant_id, entity, external_id)
);
alter table public.sync_quarantine enable row level security;

-- The data is written by the functions (postgres or service_role, which bypass RLS). The API roles
-- get no policies: nothing here is readable through the Data API with the anon or a user key.
revoke all on public.tenant_registry, public.guest_reservations, public.reservation_accommodations,
  public.sync_quarantine from anon, authenticated;
revoke all on all tables in schema hotels from public, anon, authenticated;
grant all on all tables in schema hotels to service_role;
