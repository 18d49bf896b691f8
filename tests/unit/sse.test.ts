// The dashboard client's SSE parsing (shared/): eventsource-parser under the client's own framing.
import { describe, expect, it } from "vitest";
import { parseSse } from "../../shared/index.ts";
import { acceptsEventStream } from "../../supabase/functions/_shared/http/sse.ts";

async function* chunks(...parts: string[]) {
  for (const p of parts) yield await Promise.resolve(p);
}
const collect = async (it: AsyncIterable<unknown>) => {
  const out: unknown[] = [];
  for await (const x of it) out.push(x);
  return out;
};

describe("parseSse", () => {
  it("reassembles events split across chunks, with CRLF, comments and multi-line data", async () => {
    const messages = await collect(parseSse(chunks(
      ": stream open\r\n\r",
      "\nevent: progr",
      'ess\r\ndata: {"stage":"x",',
      '"current":1}\r\n\r\n: keep-alive\n\n',
      "event: done\ndata: line1\ndata: line2\n\n",
      "event: error\ndata: tail-without-blank-line",
    )));
    expect(messages).toEqual([
      { event: "progress", data: '{"stage":"x","current":1}' },
      { event: "done", data: "line1\nline2" },
      { event: "error", data: "tail-without-blank-line" },
    ]);
  });

  it("names an event without `event:` a message and keeps its id", async () => {
    expect(await collect(parseSse(chunks("id: 7\ndata: x\n\n")))).toEqual([{
      event: "message",
      data: "x",
      id: "7",
    }]);
  });
});

describe("Accept: text/event-stream", () => {
  it.each([
    ["text/event-stream", true],
    ["Text/Event-Stream", true],
    ["TEXT/EVENT-STREAM; charset=utf-8", true],
    ["application/json, text/event-stream;q=0.5", true],
    ["text/event-stream; q=1.0", true],
    ["text/event-stream;q=0", false],
    ["text/event-stream; Q=0.000", false],
    ["application/json, text/event-stream;q=0", false],
    ["*/*", false],
    ["application/json", false],
    ["text/event-streamx", false],
    [null, false],
  ])("%s: %s", (accept, expected) => {
    expect(acceptsEventStream(accept)).toBe(expected);
  });
});
