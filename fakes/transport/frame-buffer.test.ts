import { describe, expect, it } from 'vitest';
import { closeFd, pipe } from '../../native/index.js';
import { encodeRaw, type RawMessage } from '../wire/index.js';
import { FrameBuffer } from './frame-buffer.js';

const msg = (request: number, size: number): RawMessage => ({ request, flags: 1, size, body: new Uint8Array(size).fill(request), fds: [] });

describe('FrameBuffer', () => {
  it('frames messages split at any byte', () => {
    const bytes = new Uint8Array([...encodeRaw(msg(1, 0)), ...encodeRaw(msg(8, 8)), ...encodeRaw(msg(9, 40))]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const fb = new FrameBuffer();
      fb.push(bytes.subarray(0, cut), []);
      fb.push(bytes.subarray(cut), []);
      const got = [fb.take(4096), fb.take(4096), fb.take(4096), fb.take(4096)];
      expect(got.map((g) => (g?.kind === 'message' ? g.message.request : g?.kind))).toEqual([1, 8, 9, undefined]);
    }
  });

  it('gives fds to the frame in which their receive ended (pipelined senders)', () => {
    const fb = new FrameBuffer();
    const [r, w] = pipe();
    // SET_VRING_NUM and SET_VRING_KICK arrive in one read; the kick's fd came with that read.
    fb.push(new Uint8Array([...encodeRaw(msg(8, 8)), ...encodeRaw(msg(12, 8))]), [w]);
    const a = fb.take(4096);
    const b = fb.take(4096);
    expect(a?.kind === 'message' && a.message.fds).toEqual([]);
    expect(b?.kind === 'message' && b.message.fds).toEqual([w]);
    closeFd(r);
    closeFd(w);
  });

  it('reports an oversize header instead of waiting for it', () => {
    const fb = new FrameBuffer();
    fb.push(encodeRaw({ request: 1, flags: 1, size: 0xffff, body: new Uint8Array(0), fds: [] }), []);
    expect(fb.take(4096)).toMatchObject({ kind: 'oversize', header: { size: 0xffff } });
  });
});
