-- A tenant's consumer key and secret are sent only to the origin (scheme, host and port) they were
-- entered for. `secret_origin` records it: written with the key and secret, and left as it was by a
-- write that changes only the site URL. The functions compare it with the site URL's origin before
-- they send anything (tenants.ts), so a site URL moved to another host, by any writer, makes the
-- tenant "not configured" until the key and secret are entered again for the new address.

-- The origin is stored as the URL's scheme://authority prefix, lowercased; the functions compare
-- it as a URL origin (default ports and user info fall away there).
alter table private.motopress_credentials add column secret_origin text;
update private.motopress_credentials
  set secret_origin = lower(substring(site_url from '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*'));
alter table private.motopress_credentials alter column secret_origin set not null;

-- Holds: a write that sets the key or the secret without naming their origin gives them the site
-- URL's origin written with them; any other write keeps the origin the writer left (the old one).
create function sync.credentials_secret_origin() returns trigger
language plpgsql set search_path = '' as $$
begin
  if tg_op = 'INSERT' then
    new.secret_origin := coalesce(new.secret_origin,
      lower(substring(new.site_url from '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*')));
  elsif (new.consumer_key is distinct from old.consumer_key or new.consumer_secret is distinct from old.consumer_secret)
        and new.secret_origin is not distinct from old.secret_origin then
    new.secret_origin := lower(substring(new.site_url from '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*'));
  end if;
  return new;
end $$;

create trigger motopress_credentials_secret_origin
  before insert or update on private.motopress_credentials
  for each row execute function sync.credentials_secret_origin();

revoke all on function sync.credentials_secret_origin() from public, anon, authenticated, service_role;
