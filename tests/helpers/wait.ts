// The one way a test waits: poll a probe (a query, the server's log) until it answers something
// truthy, and fail with what was awaited and the last answer when it does not in time. No test sleeps
// for a fixed time to let something happen or to prove that nothing did.

export interface WaitOptions {
  timeoutMs?: number;
  /** Between probes; the database or log is asked again at once when it is cheap (0). */
  intervalMs?: number;
  /** What is awaited, for the timeout's message. */
  what?: string;
}

export async function waitFor<T>(
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  options: WaitOptions | number = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 25, what = "condition" } = typeof options === "number"
    ? { timeoutMs: options }
    : options;
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) {
      throw new Error(`${what}: not met within ${timeoutMs} ms (last: ${JSON.stringify(value)})`);
    }
    await new Promise((r) => (intervalMs > 0 ? setTimeout(r, intervalMs) : setImmediate(r)));
  }
}

/** Until the server logged a line matching `pattern` (and naming `runId`, when given): the line. */
export function waitForLog(
  output: () => string,
  pattern: RegExp,
  options: WaitOptions & { runId?: string } = {},
): Promise<string> {
  const { runId, ...wait } = options;
  return waitFor(
    () => output().split("\n").find((l) => (!runId || l.includes(runId)) && pattern.test(l)),
    {
      timeoutMs: 20_000,
      intervalMs: 20,
      what: `a log line matching ${pattern}${runId ? ` for ${runId}` : ""}`,
      ...wait,
    },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; the log ends:\n${output().slice(-3000)}`);
  });
}
