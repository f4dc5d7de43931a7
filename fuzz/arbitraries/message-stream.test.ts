import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRaw } from '../../fakes/wire/message.js';
import { FRONTEND_REQUESTS, requestSpec } from '../../fakes/wire/requests.js';
import { decodeMessage } from '../../fakes/wire/message.js';
import { encodeStream, messageStream, resolveAddr, streamMessage, streamMessages } from './message-stream.js';

describe('message-stream arbitrary', () => {
  it('encodes streams whose frames split back into the same messages', () => {
    fc.assert(
      fc.property(messageStream(), (stream) => {
        const bytes = encodeStream(stream);
        const raws = streamMessages(stream);
        let off = 0;
        for (const raw of raws) {
          const back = decodeRaw(bytes.subarray(off));
          expect(back.request).toBe(raw.request);
          expect(back.size).toBe(raw.body.byteLength);
          expect(Array.from(back.body)).toEqual(Array.from(raw.body));
          off += 12 + back.size;
        }
        expect(off).toBe(bytes.byteLength);
      }),
      { seed: 1, numRuns: 300 },
    );
  });

  it('covers every front-end request of the table', () => {
    const seen = new Set(fc.sample(streamMessage({ setupWeight: 1 }), { seed: 3, numRuns: 3000 }).map((m) => m.request));
    expect([...FRONTEND_REQUESTS.map((s) => s.name)].filter((n) => !seen.has(n))).toEqual([]);
  });

  it('builds payloads the wire model decodes, apart from deliberate oddities', () => {
    let decoded = 0;
    for (const stream of fc.sample(messageStream(), { seed: 5, numRuns: 200 })) {
      for (const raw of streamMessages(stream)) {
        expect(requestSpec(raw.request)).toBeDefined();
        try {
          decodeMessage(raw);
          decoded++;
        } catch {
          // e.g. a table built from an empty layout slice is still well-formed; others may not be
        }
      }
    }
    expect(decoded).toBeGreaterThan(500);
  });

  it('resolves region-relative addresses inside the named region', () => {
    const layout = [
      { guestPhysAddr: 0n, memorySize: 0x1000n, userspaceAddr: 0x7f00_0000_0000n, mmapOffset: 0n },
      { guestPhysAddr: 0x1000n, memorySize: 0x2000n, userspaceAddr: 0x7f00_0010_0000n, mmapOffset: 0n },
    ];
    expect(resolveAddr({ region: 1, offset: 0x10n }, layout)).toBe(0x7f00_0010_0010n);
    expect(resolveAddr({ region: 3, offset: 0x2010n }, layout)).toBe(0x7f00_0010_0010n); // region 3 % 2, offset % size
    expect(resolveAddr({ raw: 5n }, layout)).toBe(5n);
  });

  it('checks its constraints eagerly', () => {
    expect(() => messageStream({ maxRegions: 9 })).toThrow(/maxRegions/);
    expect(() => messageStream({ maxMessages: 0 })).toThrow(/maxMessages/);
    expect(() => streamMessage({ setupWeight: 0 })).toThrow(/setupWeight/);
  });
});
