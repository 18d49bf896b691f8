// Reading runs for the operator console: one run by id with its progress and children (so a
// browser re-attaches to a run after a reload or a function hop), and the active/recent list.
import type { Sql } from "../db.ts";
import { ApiError } from "../http/errors.ts";
import { getRun, toRun } from "../runs/coordinator.ts";
import { isActive } from "../runs/state-machine.ts";
import type { Run } from "../runs/types.ts";
import { publicRun } from "./run-api.ts";
import { progressOf } from "./watch.ts";

async function withProgress(sql: Sql, run: Run, slug: string | null) {
  return { ...publicRun(run), tenantSlug: slug, progress: await progressOf(sql, run) };
}

async function slugOf(sql: Sql, tenantId: string | null): Promise<string | null> {
  if (!tenantId) return null;
  const [row] = await sql`select slug from public.tenant_registry where tenant_id = ${tenantId}`;
  return row?.slug ?? null;
}

/** The run, its progress, and (for a chain) every child with its own progress. */
export async function runView(sql: Sql, runId: string) {
  const run = await getRun(sql, runId);
  if (!run) throw new ApiError(404, "RUN_NOT_FOUND", `No run with id ${runId}.`, { runId });
  const children = await sql`
    select c.*, t.slug from public.sync_runs c left join public.tenant_registry t on t.tenant_id = c.tenant_id
    where c.parent_run_id = ${runId} order by c.started_at, c.id limit 500`;
  return {
    run: {
      ...(await withProgress(sql, run, await slugOf(sql, run.tenantId))),
      children: await Promise.all(children.map((c) => withProgress(sql, toRun(c), c.slug))),
    },
  };
}

/** Active runs (every one) and the most recent finished top-level runs. */
export async function listRuns(sql: Sql, opts: { tenantId: string | null; limit: number }) {
  const rows = await sql`
    (select s.*, t.slug from public.sync_runs s left join public.tenant_registry t on t.tenant_id = s.tenant_id
      where s.status in ('running', 'continuing') and (${opts.tenantId}::uuid is null or s.tenant_id = ${opts.tenantId})
      order by s.started_at desc limit 200)
    union all
    (select s.*, t.slug from public.sync_runs s left join public.tenant_registry t on t.tenant_id = s.tenant_id
      where s.status not in ('running', 'continuing') and s.parent_run_id is null
        and (${opts.tenantId}::uuid is null or s.tenant_id = ${opts.tenantId})
      order by s.started_at desc limit ${opts.limit})`;
  const runs = await Promise.all(rows.map((r) => withProgress(sql, toRun(r), r.slug)));
  return {
    generatedAt: new Date().toISOString(),
    active: runs.filter((r) => isActive(r.status)),
    recent: runs.filter((r) => !isActive(r.status)),
  };
}
