import { encodeFrame, FrameError, FrameReader } from './worker-frames';

function rawFrame(size: number, headerSize: number, rest: Buffer): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32LE(size, 0);
  prefix.writeUInt32LE(headerSize, 4);
  return Buffer.concat([prefix, rest]);
}

describe('worker frames', () => {
  it('reads back what it wrote: the header and each buffer', () => {
    const sut = new FrameReader();
    const buffers = [Uint8Array.from([1, 2, 3]), new Uint8Array(0), Uint8Array.from([9])];

    const [frame] = sut.push(encodeFrame({ type: 'predict', id: 7 }, buffers));

    expect(frame.header).toEqual({ type: 'predict', id: 7, buffers: [3, 0, 1] });
    expect(frame.buffers.map((b) => Array.from(b))).toEqual([[1, 2, 3], [], [9]]);
  });

  it('reads frames however the stream cuts them, one byte at a time or many in a chunk', () => {
    const sut = new FrameReader();
    const stream = Buffer.concat([
      encodeFrame({ id: 1 }, [Uint8Array.from([1, 2])]),
      encodeFrame({ id: 2 }),
      encodeFrame({ id: 3 }, [Uint8Array.from([3])]),
    ]);

    const oneByOne = [...stream].flatMap((byte) => sut.push(Buffer.from([byte])));
    const together = new FrameReader().push(stream);

    expect(oneByOne.map((f) => f.header.id)).toEqual([1, 2, 3]);
    expect(together.map((f) => f.header.id)).toEqual([1, 2, 3]);
    expect(Array.from(oneByOne[2].buffers[0])).toEqual([3]);
  });

  it('gives buffers their own aligned memory, so any typed array can view them', () => {
    const values = Float64Array.from([1.5, -2.25]);
    const stream = Buffer.concat([
      Buffer.from([0]),
      encodeFrame({}, [new Uint8Array(values.buffer)]),
    ]);

    const [frame] = new FrameReader().push(stream.subarray(1));

    expect(Array.from(new Float64Array(frame.buffers[0].buffer))).toEqual([1.5, -2.25]);
  });

  it('refuses a header longer than its frame', () => {
    const sut = new FrameReader();

    expect(() => sut.push(rawFrame(6, 10, Buffer.from('{}')))).toThrow(FrameError);
  });

  it('refuses a frame larger than the limit before reading it', () => {
    const sut = new FrameReader(100);

    expect(() => sut.push(rawFrame(1000, 2, Buffer.alloc(0)))).toThrow(/at most 100/);
  });

  it('refuses a header that is not a JSON object', () => {
    expect(() => new FrameReader().push(rawFrame(7, 3, Buffer.from('{x:')))).toThrow(/not JSON/);
    expect(() => new FrameReader().push(rawFrame(6, 2, Buffer.from('[]')))).toThrow(
      /not a JSON object/,
    );
  });

  it('refuses buffer lengths that do not add up to the frame', () => {
    const header = Buffer.from(JSON.stringify({ buffers: [5] }));
    const frame = rawFrame(
      4 + header.length + 2,
      header.length,
      Buffer.concat([header, Buffer.from([1, 2])]),
    );

    expect(() => new FrameReader().push(frame)).toThrow(/add up to 5 bytes, the frame holds 2/);
  });
});
