// Reads a body stream up to a byte limit: what arrives past it is never buffered, and the stream
// is cancelled. Shared by incoming requests (http/body.ts) and MotoPress answers (motopress/http.ts).
//
// The bytes counted are the ones read, so a compressed body is capped by what it decodes to. They
// go into one buffer of ours: read into it directly where the stream allows (a byte stream, as
// fetch's bodies are), else copied into it chunk by chunk and the chunk let go. The runtime's chunks
// can be small views on far larger allocations (a decoded gzip body arrives in 4 KB views, each
// holding its own 64 KB), so keeping the chunks themselves held many times the bytes counted, and a
// 65 KB gzip answer under a 16 MB cap filled a worker's 256 MB.

/** The first buffer's size; it doubles as the body grows, never past the limit (plus the byte that tells). */
const INITIAL_BYTES = 64 * 1024;

type Capped = { bytes: Uint8Array; size: number } | { bytes: null; size: number };

/** The body's bytes, or `null` (stream cancelled) once more than `limit` bytes arrived. */
export async function readCappedBytes(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Capped> {
  if (!body) return { bytes: new Uint8Array(0), size: 0 };
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream: chunk by chunk below.
  }
  return byob ? await readInto(byob, limit) : await copyChunks(body.getReader(), limit);
}

/** The next buffer when `buffer` holds `size` bytes and needs room for `more`. */
function grow(buffer: Uint8Array, size: number, more: number, limit: number): Uint8Array {
  const grown = new Uint8Array(Math.min(limit + 1, Math.max(buffer.byteLength * 2, size + more)));
  grown.set(buffer.subarray(0, size));
  return grown;
}

async function readInto(reader: ReadableStreamBYOBReader, limit: number): Promise<Capped> {
  let buffer: Uint8Array = new Uint8Array(Math.min(limit + 1, INITIAL_BYTES));
  let size = 0;
  for (;;) {
    if (size === buffer.byteLength) buffer = grow(buffer, size, 1, limit);
    // The view's buffer is handed to the stream and comes back (as `value.buffer`) filled.
    const view = new Uint8Array(buffer.buffer as ArrayBuffer, size, buffer.byteLength - size);
    const { done, value } = await reader.read(view);
    if (value) buffer = new Uint8Array(value.buffer as ArrayBuffer);
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return { bytes: null, size };
    }
  }
  return { bytes: buffer.subarray(0, size), size };
}

async function copyChunks(reader: ReadableStreamDefaultReader<Uint8Array>, limit: number): Promise<Capped> {
  let buffer: Uint8Array = new Uint8Array(Math.min(limit, INITIAL_BYTES));
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > limit) {
      await reader.cancel().catch(() => {});
      return { bytes: null, size: size + value.byteLength };
    }
    if (size + value.byteLength > buffer.byteLength) buffer = grow(buffer, size, value.byteLength, limit);
    buffer.set(value, size);
    size += value.byteLength;
  }
  return { bytes: buffer.subarray(0, size), size };
}
