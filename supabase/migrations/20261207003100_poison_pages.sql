-- A page that kills every worker that tries it (a memory or CPU kill: no code of ours runs after
-- it) fails its run on the second takeover that finds it, with POISON_PAGE naming the page and
-- the last known cause, instead of killing a worker five more times before NO_PROGRESS.
--
-- `page_attempts` counts the workers that set out on the run's current page (its checkpoint's)
-- and never ended it: a worker sets out when it claims the run, takes it over, or commits the page
-- before (the fence with a checkpoint); it ends the page by committing it (the next page is then
-- the one set out on) or by handing the run over (suspend: nobody is on it). So a takeover that
-- finds the count at max_page_attempts knows that many workers died on that very page. A worker
-- that dies elsewhere (before its first page, between a commit and the next fetch) is counted as
-- on the page; one such death is allowed, and NO_PROGRESS still bounds takeovers that never reach
-- a page. Chains (sync-command-center) have no pages of their own: their children are judged.

alter table public.sync_runs
  -- A run is inserted by the claim of the worker that goes on to its first page.
  add column page_attempts integer not null default 1,
  add column max_page_attempts integer not null default 2,
  add constraint sync_runs_page_attempts_counted check (page_attempts >= 0) not valid,
  add constraint sync_runs_max_page_attempts_bounded check (max_page_attempts between 1 and 100) not valid;

-- The fence, as before; a new checkpoint also means this worker sets out on the page after it.
create or replace function sync.fence_run(p_run_id uuid, p_token bigint, p_checkpoint jsonb, p_stats jsonb)
returns boolean
language plpgsql volatile set search_path = '' as $$
declare
  v_parent uuid;
begin
  update public.sync_runs
  set heartbeat_at = now(),
      checkpoint = coalesce(p_checkpoint, checkpoint),
      stats = coalesce(p_stats, stats),
      attempts_without_progress = case when p_checkpoint is null then attempts_without_progress else 0 end,
      page_attempts = case when p_checkpoint is null then page_attempts else 1 end
  where id = p_run_id and fencing_token = p_token and status = 'running'
  returning parent_run_id into v_parent;
  if not found then
    return false;
  end if;
  if p_checkpoint is not null and v_parent is not null then
    update public.sync_runs p set attempts_without_progress = 0
    where p.id = v_parent and p.attempts_without_progress <> 0;
  end if;
  return true;
end $$;

-- Checkpoint and hand over, as before: the worker leaves its page in order, so nobody is on it.
create or replace function sync.suspend_run(p_run_id uuid, p_token bigint, p_checkpoint jsonb, p_stats jsonb,
  p_interruption text)
returns setof public.sync_runs
language sql volatile set search_path = '' as $$
  update public.sync_runs
  set status = 'continuing', heartbeat_at = now(),
      checkpoint = coalesce(p_checkpoint, checkpoint),
      stats = coalesce(p_stats, stats),
      last_interruption = coalesce(p_interruption, last_interruption),
      page_attempts = 0
  where id = p_run_id and fencing_token = p_token and status = 'running'
  returning *
$$;

-- Takes over an expired or continuing run (the caller holds its row lock): failed with POISON_PAGE
-- when max_page_attempts workers died on its current page, with NO_PROGRESS when it used up its
-- attempts, else resumed with a new fencing token (the new worker sets out on the page).
create or replace function sync.take_over_run(p_run_id uuid) returns public.sync_runs
language plpgsql set search_path = '' as $$
declare
  v_run public.sync_runs;
begin
  update public.sync_runs s
  set status = 'failed', completed_at = now(), error_code = 'POISON_PAGE',
      error_message = format(
        'Gave up on %s: the %s workers that tried it were stopped before they could commit or hand it over ' ||
        '(a platform limit on memory or CPU that the page itself sets off, or a crash), so it is not tried again. ' ||
        'Last known cause: %s. The pages before it are kept; the next sync starts over and stops at it again ' ||
        'until the site answers that page differently.',
        sync.run_position(s), s.page_attempts,
        coalesce(s.last_interruption, 'none reported (the worker was killed without warning)'))
  where s.id = p_run_id and s.source <> 'sync-command-center' and s.page_attempts >= s.max_page_attempts
  returning * into v_run;
  if found then
    return v_run;
  end if;
  update public.sync_runs s
  set status = 'running', fencing_token = s.fencing_token + 1, heartbeat_at = now(),
      invocations = s.invocations + 1, attempts_without_progress = s.attempts_without_progress + 1,
      page_attempts = s.page_attempts + 1
  where s.id = p_run_id and s.attempts_without_progress < s.max_attempts_without_progress
  returning * into v_run;
  if found then
    return v_run;
  end if;
  update public.sync_runs s
  set status = 'failed', completed_at = now(), error_code = 'NO_PROGRESS',
      error_message = format(
        'Gave up after %s attempts in a row that committed nothing: every worker stopped at %s. Last known cause: %s.',
        s.attempts_without_progress, sync.run_position(s),
        coalesce(s.last_interruption,
          'none reported (a platform limit - CPU, wall clock, memory -, a deploy, a crash or a lost connection)'))
  where s.id = p_run_id
  returning * into v_run;
  return v_run;
end $$;
