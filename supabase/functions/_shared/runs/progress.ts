// A run's progress as data, from the job to every reader (the SSE watcher, the run views, the
// dashboard client, the CLI): what it is doing (stage), its step n of m and its page n of m. The
// message they show is derived from the data here, and never parsed back.

export type ProgressActivity = "starting" | "pages" | "removals" | "placeholders" | "done";

export interface ProgressData {
  /** A job's phase ("accommodation types", "bookings"); under a chain, its source ("accommodations"). */
  stage: string;
  activity: ProgressActivity;
  /** Step n of `steps`: a job's phase, or a chain's source; null where there are none (the removal check). */
  step: number | null;
  steps: number | null;
  /** Pages (or removal checks) done, and the pages there are when known. */
  current: number;
  total: number | null;
  /** Under a chain: its child's own stage ("accommodation types" within the accommodations step). */
  part?: string;
  /** Under the all-tenants run: the tenant whose chain this is. */
  tenant?: string;
}

/** The progress as stored on the run and sent as `event: progress`: the data and its message. */
export interface Progress extends ProgressData {
  message: string;
}

export function progressFrom(data: ProgressData): Progress {
  return { ...data, message: describe(data) };
}

function describe(p: ProgressData): string {
  const step = p.step === null ? "" : `Step ${p.step}/${p.steps}${p.tenant ? ` [${p.tenant}]` : ""}: `;
  const what = p.part ?? p.stage;
  switch (p.activity) {
    case "starting":
      return step ? `${step}${what} starting` : "Run started";
    case "pages":
      return `${step}${what} page ${p.current} of ${p.total ?? "?"}`;
    case "removals":
      return `${step}Checking what is gone: ${what}`;
    case "placeholders":
      return `${step}Naming placeholders: ${what}`;
    case "done":
      return `${step}Sync complete`;
  }
}

export const STARTING: Progress = progressFrom({
  stage: "starting",
  activity: "starting",
  step: null,
  steps: null,
  current: 0,
  total: null,
});

/** A stored progress that carries its data (rows written before it did have only the message). */
export function isProgressData(value: unknown): value is Progress {
  return !!value && typeof value === "object" && typeof (value as Progress).activity === "string";
}
