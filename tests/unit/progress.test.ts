// A run's progress is data; the message every reader shows is derived from it.
import { describe, expect, it } from "vitest";
import { progressFrom, STARTING } from "../../supabase/functions/_shared/runs/progress.ts";

describe("progress messages, derived from the data", () => {
  it("a job's phase page, its removal check, its end, and a run that just started", () => {
    const page = {
      stage: "accommodation types",
      activity: "pages",
      step: 1,
      steps: 2,
      current: 3,
      total: 7,
    } as const;
    expect(progressFrom(page).message).toBe("Step 1/2: accommodation types page 3 of 7");
    expect(progressFrom({ ...page, activity: "removals", step: null, steps: null, total: null }).message)
      .toBe("Checking what is gone: accommodation types");
    expect(progressFrom({ ...page, stage: "done", activity: "done", step: null, steps: null }).message).toBe(
      "Sync complete",
    );
    expect(STARTING).toMatchObject({ stage: "starting", current: 0, total: null, message: "Run started" });
  });

  it("under a chain the step is its source's and the child's phase is the part; under the fan-out, the tenant is named", () => {
    const chain = {
      stage: "accommodations",
      part: "accommodation types",
      activity: "pages",
      step: 1,
      steps: 2,
      current: 1,
      total: 1,
    } as const;
    expect(progressFrom(chain).message).toBe("Step 1/2: accommodation types page 1 of 1");
    expect(progressFrom({ ...chain, tenant: "seaside" }).message).toBe(
      "Step 1/2 [seaside]: accommodation types page 1 of 1",
    );
    expect(
      progressFrom({ stage: "bookings", activity: "starting", step: 2, steps: 2, current: 0, total: null })
        .message,
    )
      .toBe("Step 2/2: bookings starting");
    expect(
      progressFrom({
        stage: "bookings",
        part: "bookings",
        activity: "removals",
        step: 2,
        steps: 2,
        current: 4,
        total: null,
      }).message,
    )
      .toBe("Step 2/2: Checking what is gone: bookings");
  });
});
