import { describe, expect, it } from 'vitest';
import { decodeMessage, decodeRaw, type RawMessage } from '../../fakes/wire/message.js';
import { FRONTEND_REQUESTS, requestName } from '../../fakes/wire/requests.js';
import { Choices } from './choices.js';
import { streamGenerator } from './stream-generator.js';
import { bytesGenerator } from './bytes-generator.js';

function frames(bytes: Uint8Array): RawMessage[] {
  const out: RawMessage[] = [];
  let off = 0;
  while (off < bytes.byteLength) {
    const raw = decodeRaw(bytes.subarray(off));
    out.push(raw);
    off += 12 + raw.size;
  }
  expect(off).toBe(bytes.byteLength);
  return out;
}

function sample(n: number, seed0 = 1): RawMessage[][] {
  const gen = streamGenerator({ maxMessages: 16, maxRegions: 4 });
  const src = new Choices();
  const out: RawMessage[][] = [];
  for (let i = 0; i < n; i++) {
    src.startRandom(seed0 + i, false);
    out.push(frames(gen(src, i % 4 === 0)));
  }
  return out;
}

describe('streamGenerator', () => {
  it('writes whole frames the wire codecs decode, for every front-end request', () => {
    const streams = sample(3000);
    const seen = new Set<string>();
    let decoded = 0;
    let total = 0;
    for (const s of streams) {
      expect(s.length).toBeGreaterThanOrEqual(1);
      for (const raw of s) {
        total++;
        seen.add(requestName(raw.request));
        expect(raw.flags === 1 || raw.flags === 9).toBe(true);
        try {
          decodeMessage(raw);
          decoded++;
        } catch {
          // deliberate oddities (opaque bodies of families the generator leaves blind)
        }
      }
    }
    expect(FRONTEND_REQUESTS.map((r) => r.name).filter((n) => !seen.has(n))).toEqual([]);
    expect(decoded / total).toBeGreaterThan(0.95);
  });

  it('brings rings up as units and points most ring addresses into announced regions', () => {
    let units = 0;
    let inside = 0;
    let addrs = 0;
    for (const s of sample(2000, 77)) {
      let regions: { userspaceAddr: bigint; memorySize: bigint }[] = [];
      s.forEach((raw, k) => {
        const m = decodeMessage(raw) as unknown as { request: number; payload: unknown };
        if (requestName(raw.request) === 'SET_MEM_TABLE') regions = (m.payload as { regions: typeof regions }).regions;
        if (requestName(raw.request) === 'SET_VRING_NUM' && requestName(s[k + 1]?.request ?? 0) === 'SET_VRING_ADDR' && requestName(s[k + 2]?.request ?? 0) === 'SET_VRING_KICK') {
          const idx = (m.payload as { index: number }).index;
          if ((decodeMessage(s[k + 1]!) as { payload: { index: number } }).payload.index === idx) units++;
        }
        if (requestName(raw.request) === 'SET_VRING_ADDR' && regions.length > 0) {
          const desc = (m.payload as { descAddr: bigint }).descAddr;
          addrs++;
          if (regions.some((r) => desc >= r.userspaceAddr && desc - r.userspaceAddr < r.memorySize)) inside++;
        }
      });
    }
    expect(units).toBeGreaterThan(300);
    expect(inside / addrs).toBeGreaterThan(0.5);
  });

  it('checks its options eagerly', () => {
    expect(() => streamGenerator({ maxMessages: 0, maxRegions: 4 })).toThrow(/maxMessages/);
    expect(() => streamGenerator({ maxMessages: 4, maxRegions: 9 })).toThrow(/maxRegions/);
    expect(() => streamGenerator({ maxMessages: 4, maxRegions: 4, setupWeight: 0 })).toThrow(/setupWeight/);
  });
});

describe('bytesGenerator', () => {
  it('builds inputs mostly of small little-endian words, within the chunk bound', () => {
    const gen = bytesGenerator(64);
    const src = new Choices();
    let small = 0;
    let words = 0;
    for (let i = 0; i < 2000; i++) {
      src.startRandom(i, false);
      const b = gen(src, false);
      expect(b.byteLength).toBeLessThanOrEqual(64 * 32);
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let o = 0; o + 4 <= b.byteLength; o += 4) {
        words++;
        if (v.getUint32(o, true) <= 64) small++;
      }
    }
    // Uniform bytes would make a word <= 64 once in 67 million; word chunks are 13 in 16.
    expect(small / words).toBeGreaterThan(0.2);
    expect(() => bytesGenerator(-1)).toThrow(/maxChunks/);
  });
});
