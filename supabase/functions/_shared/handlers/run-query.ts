// GET <any sync function>?runId=<uuid>: the run with its progress, or (Accept: text/event-stream)
// its progress stream, re-attached to a run already in flight.
import { z } from "zod";
import type { Sql } from "../db.ts";
import { json } from "../http/errors.ts";
import { sseResponse, wantsEventStream } from "../http/sse.ts";
import { runView } from "./run-views.ts";
import { watchRun } from "./watch.ts";

export const runIdQuery = z.uuid({ message: "Must be a run id (uuid)." });

export async function runResponse(sql: Sql, req: Request, runId: string): Promise<Response> {
  // Read first: an unknown run is a 404 in the envelope, not a stream that errors.
  const view = await runView(sql, runId);
  if (wantsEventStream(req)) return sseResponse((sink) => watchRun(sql, runId, sink));
  return json(200, view);
}
