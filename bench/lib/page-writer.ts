// Our page writer as sync/paged.ts commits a bookings page: the fence folded into the first
// statement, the writes, the run's stats in the last one (bench figures 2, 4 and 9).
import type { Sql, Tx } from "../../supabase/functions/_shared/db.ts";
import type { Page } from "../../supabase/functions/_shared/motopress/client.ts";
import { withFoldedFence } from "../../supabase/functions/_shared/runs/coordinator.ts";
import { progressFrom } from "../../supabase/functions/_shared/runs/progress.ts";
import type { Lease } from "../../supabase/functions/_shared/runs/types.ts";
import { entriesOf } from "../../supabase/functions/_shared/sync/booking-entries.ts";
import { writeBookingsPage } from "../../supabase/functions/_shared/sync/writers.ts";

export function commitBookingsPage(sql: Sql, lease: Lease, tenantId: string, raw: Page<unknown>) {
  const progress = progressFrom({
    stage: "bookings",
    activity: "pages",
    step: 2,
    steps: 2,
    current: raw.page,
    total: raw.totalPages,
  });
  return withFoldedFence(
    sql,
    lease,
    (tx: Tx, fence) =>
      writeBookingsPage(tx, tenantId, lease.runId, entriesOf(raw), {
        fence,
        stats: (counters) => ({ counters, progress }),
      }),
    {
      checkpoint: { phase: 0, page: raw.page + 1, total: raw.total, unstable: false, removalsDone: [] },
    },
  );
}
