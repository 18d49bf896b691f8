// Reads a body stream up to a byte limit: what arrives past it is never buffered, and the stream
// is cancelled. Shared by incoming requests (http/body.ts) and MotoPress answers (motopress/http.ts).

/** The body's bytes, or `null` (stream cancelled) once more than `limit` bytes arrived. */
export async function readCappedBytes(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<{ bytes: Uint8Array; size: number } | { bytes: null; size: number }> {
  if (!body) return { bytes: new Uint8Array(0), size: 0 };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return { bytes: null, size };
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return { bytes: all, size };
}
