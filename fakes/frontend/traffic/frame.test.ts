import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { prepareFrame, stampFrame, sumFrame, verifyFrame, MIN_FRAME } from './frame.js';

/** A buffer laid out as the traffic loop lays it out: 12-byte net header, then the frame. */
function makeFrame(size: number, slot: number, seq: number) {
  const hdr = 12;
  const buf = new Uint8Array((hdr + size + 8 + 3) & ~3);
  const frame = buf.subarray(hdr, hdr + size);
  const base = prepareFrame(frame, slot);
  const words = new Uint32Array(buf.buffer);
  stampFrame(words, (hdr + 12) >>> 2, seq, base);
  return { buf, words, hdr };
}

describe('test frames', () => {
  it('verifies a stamped frame and returns its sequence number', () => {
    fc.assert(fc.property(fc.integer({ min: MIN_FRAME, max: 1600 }), fc.nat(255), fc.nat(0xfffffffe), (size, slot, seq) => {
      const { buf, words, hdr } = makeFrame(size, slot, seq);
      expect(verifyFrame(buf, hdr, words, (hdr + 12) >>> 2, size)).toBe(seq);
    }));
  });

  it('detects any single corrupted byte from offset 12 on', () => {
    fc.assert(fc.property(fc.integer({ min: MIN_FRAME, max: 300 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (size, at, flip) => {
      const { buf, words, hdr } = makeFrame(size, 3, 77);
      const pos = hdr + 12 + (at % (size - 12));
      buf[pos] ^= flip;
      expect(verifyFrame(buf, hdr, words, (hdr + 12) >>> 2, size)).toBe(-1);
    }));
  });

  it('ignores swapped MAC addresses (a macswap back-end)', () => {
    const { buf, words, hdr } = makeFrame(64, 0, 5);
    const mac = buf.slice(hdr, hdr + 6);
    buf.copyWithin(hdr, hdr + 6, hdr + 12);
    buf.set(mac, hdr + 6);
    expect(verifyFrame(buf, hdr, words, (hdr + 12) >>> 2, 64)).toBe(5);
  });

  it('rejects frames that are too short or of the wrong EtherType', () => {
    const { buf, words, hdr } = makeFrame(64, 0, 5);
    expect(verifyFrame(buf, hdr, words, (hdr + 12) >>> 2, 20)).toBe(-1);
    buf[hdr + 12] = 0x08;
    expect(verifyFrame(buf, hdr, words, (hdr + 12) >>> 2, 64)).toBe(-1);
  });

  it('sums a stamped frame to zero', () => {
    const { buf, hdr } = makeFrame(99, 1, 123456);
    expect(sumFrame(buf.subarray(hdr, hdr + 99))).toBe(0);
  });
});
