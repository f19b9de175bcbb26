/**
 * The frames a pyfunc worker and Modelgate exchange over the worker's stdin
 * and stdout: `u32 size | u32 header size | header (JSON) | buffers`, little
 * endian. `size` counts everything after itself; the header's `buffers` lists
 * the byte length of each buffer, in order (worker.py holds the other side).
 */

export interface Frame<H = Record<string, unknown>> {
  header: H & { buffers?: number[] };
  buffers: Uint8Array[];
}

/** A frame that cannot be read: the stream is out of step and the worker must go. */
export class FrameError extends Error {
  constructor(message: string) {
    super(`bad frame from the worker: ${message}`);
    this.name = FrameError.name;
  }
}

const PREFIX_BYTES = 8;

/** One frame as bytes; the header's `buffers` is filled in from `buffers`. */
export function encodeFrame(
  header: Record<string, unknown>,
  buffers: readonly Uint8Array[] = [],
): Buffer {
  const head = Buffer.from(
    JSON.stringify({ ...header, buffers: buffers.map((b) => b.byteLength) }),
  );
  const bodyBytes = buffers.reduce((sum, b) => sum + b.byteLength, 0);
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.writeUInt32LE(4 + head.length + bodyBytes, 0);
  prefix.writeUInt32LE(head.length, 4);
  return Buffer.concat([prefix, head, ...buffers]);
}

/**
 * Reads frames out of a byte stream as chunks arrive, however the chunks cut
 * the frames. Buffers are copied out, each to its own aligned memory, so a
 * typed array can view them.
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxFrameBytes = 1024 ** 3) {}

  /**
   * The frames the chunk completes, in order.
   * @throws FrameError when the stream holds something that is not a frame.
   */
  push(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.pendingBytes < PREFIX_BYTES) return frames;
      const data = this.joined();
      const size = data.readUInt32LE(0);
      const headerSize = data.readUInt32LE(4);
      if (size < 4 || size > this.maxFrameBytes) {
        throw new FrameError(`a frame of ${size} bytes (at most ${this.maxFrameBytes})`);
      }
      if (headerSize > size - 4) {
        throw new FrameError(`a header of ${headerSize} bytes in a frame of ${size}`);
      }
      if (data.length < 4 + size) return frames;
      frames.push(readFrame(data.subarray(PREFIX_BYTES, 4 + size), headerSize));
      this.pending = data.length > 4 + size ? [data.subarray(4 + size)] : [];
      this.pendingBytes = data.length - 4 - size;
    }
  }

  private joined(): Buffer {
    if (this.pending.length > 1) this.pending = [Buffer.concat(this.pending)];
    return this.pending[0];
  }
}

function readFrame(body: Buffer, headerSize: number): Frame {
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(0, headerSize).toString('utf8'));
  } catch (error) {
    throw new FrameError(`its header is not JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new FrameError('its header is not a JSON object');
  }
  const lengths = (header as { buffers?: unknown }).buffers ?? [];
  if (!Array.isArray(lengths) || !lengths.every((n) => Number.isInteger(n) && (n as number) >= 0)) {
    throw new FrameError('its header lists buffer lengths that are not byte counts');
  }
  const total = (lengths as number[]).reduce((sum, n) => sum + n, 0);
  if (total !== body.length - headerSize) {
    throw new FrameError(
      `its buffers add up to ${total} bytes, the frame holds ${body.length - headerSize}`,
    );
  }
  let offset = headerSize;
  const buffers = (lengths as number[]).map((length) => {
    const copy = new Uint8Array(length);
    copy.set(body.subarray(offset, offset + length));
    offset += length;
    return copy;
  });
  return { header: header as Frame['header'], buffers };
}
