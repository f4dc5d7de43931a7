import { describe, expect, it } from 'vitest';
import { frameDiff, frameSeq, testFrame } from './data-net-loop.js';

describe('test frames', () => {
  it('carries its sequence number', () => {
    expect(frameSeq(testFrame(12345, 64))).toBe(12345);
    expect(frameSeq(new Uint8Array(64))).toBeUndefined();
  });

  it('accepts the frame unchanged or with the MACs swapped', () => {
    const f = testFrame(7, 100);
    expect(frameDiff(f, f.slice())).toBeUndefined();
    const swapped = f.slice();
    swapped.set(f.subarray(0, 6), 6);
    swapped.set(f.subarray(6, 12), 0);
    expect(frameDiff(f, swapped)).toBeUndefined();
  });

  it('names the first changed byte, a wrong length and broken MACs', () => {
    const f = testFrame(7, 100);
    const g = f.slice();
    g[40] ^= 0xff;
    expect(frameDiff(f, g)).toMatch(/^byte 40 /);
    expect(frameDiff(f, f.slice(0, 99))).toMatch(/length 99/);
    const m = f.slice();
    m[0] = 0;
    expect(frameDiff(f, m)).toMatch(/MAC/);
  });

  it('differs between sequence numbers beyond the header', () => {
    expect(frameDiff(testFrame(1, 64), testFrame(2, 64))).toBeDefined();
  });
});
