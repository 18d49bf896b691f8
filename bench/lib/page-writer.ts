// Our page writer as sync/paged.ts commits a bookings page: no transaction block, each statement
// fenced, the page's checkpoint and stats in its last one (bench figures 2, 4 and 9). One writer
// per run, as in a sync: it guesses each page's way from the page before.
import type { Sql } from "../../supabase/functions/_shared/db.ts";
import type { Page } from "../../supabase/functions/_shared/motopress/client.ts";
import type { JsonItem } from "../../supabase/functions/_shared/motopress/json-items.ts";
import { held } from "../../supabase/functions/_shared/runs/coordinator.ts";
import { progressFrom } from "../../supabase/functions/_shared/runs/progress.ts";
import type { Lease } from "../../supabase/functions/_shared/runs/types.ts";
import { entriesOf } from "../../supabase/functions/_shared/sync/booking-entries.ts";
import { bookingsWriter } from "../../supabase/functions/_shared/sync/writers.ts";

export function bookingsPageCommitter(lease: Lease, tenantId: string) {
  const write = bookingsWriter(tenantId, lease.runId);
  return (sql: Sql, raw: Page<JsonItem>) => {
    const progress = progressFrom({
      stage: "bookings",
      activity: "pages",
      step: 2,
      steps: 2,
      current: raw.page,
      total: raw.totalPages,
    });
    return write(sql, entriesOf(raw), {
      lease,
      checkpoint: { phase: 0, page: raw.page + 1, total: raw.total, unstable: false, removalsDone: [] },
      held: (owned) => held(sql, lease, owned),
      stats: (counters) => ({ counters, progress }),
    });
  };
}
