import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MalformedMessageError, ProtocolError } from './errors.js';
import { familyArbitraries } from './__test-helpers__/arbitraries.js';
import { HEADER_SIZE, REPLY_FLAGS, decodeHeader } from './header.js';
import {
  type RawMessage,
  buildAck,
  buildMessage,
  buildReply,
  decodeMessage,
  decodeRaw,
  describeMessage,
  encodeRaw,
} from './message.js';
import { BACKEND_REQUESTS, Direction, FRONTEND_REQUESTS, type RequestName, type RequestSpec } from './requests.js';

const ALL: readonly RequestSpec[] = [...FRONTEND_REQUESTS, ...BACKEND_REQUESTS];

describe('RawMessage', () => {
  it('encodeRaw writes size as given, so callers can lie', () => {
    const raw: RawMessage = { request: 1, flags: 0x1, size: 0xffff, body: new Uint8Array([1, 2, 3]), fds: [] };
    const b = encodeRaw(raw);
    expect(b.byteLength).toBe(HEADER_SIZE + 3);
    expect(decodeHeader(b)).toEqual({ request: 1, flags: 1, size: 0xffff });
    expect(Array.from(b.subarray(HEADER_SIZE))).toEqual([1, 2, 3]);
  });

  it('decodeRaw inverts encodeRaw for honest frames and ignores trailing bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 300 }), (request, flags, body) => {
        const raw = { request, flags, size: body.byteLength, body, fds: [7] };
        const bytes = encodeRaw(raw);
        const withTail = new Uint8Array(bytes.byteLength + 5);
        withTail.set(bytes);
        expect(decodeRaw(withTail, [7])).toEqual(raw);
      }),
    );
    expect(() => decodeRaw(encodeRaw({ request: 1, flags: 1, size: 9, body: new Uint8Array(8), fds: [] }))).toThrow(MalformedMessageError);
  });
});

describe('build / decode', () => {
  it.each(ALL.map((s) => [s.name, s] as const))('%s: request round-trips through build → wire → decode', (_n, spec) => {
    fc.assert(
      fc.property(familyArbitraries[spec.payload.family], fc.boolean(), (payload, needReply) => {
        const raw = buildMessage(spec.name as RequestName, payload as never, { needReply, fds: [3] });
        expect(raw.size).toBe(raw.body.byteLength);
        expect(raw.flags).toBe(needReply ? 0x9 : 0x1);
        const wire = decodeRaw(encodeRaw(raw), raw.fds);
        const m = decodeMessage(wire, spec.direction);
        expect(m).toMatchObject({ kind: 'request', request: spec.name, code: spec.code, needReply, fds: [3] });
        expect(m.payload).toEqual(payload);
      }),
      { numRuns: 30 },
    );
  });

  it.each(ALL.filter((s) => s.replyPayload).map((s) => [s.name, s] as const))('%s: reply round-trips', (_n, spec) => {
    fc.assert(
      fc.property(familyArbitraries[spec.replyPayload!.family], (payload) => {
        // A bigint body is read as an ack unless the reply body itself is a u64.
        fc.pre(typeof payload !== 'bigint' || spec.replyPayload!.family === 'u64');
        const raw = buildReply(spec.name as RequestName, payload as never);
        expect(raw.flags).toBe(REPLY_FLAGS);
        const m = decodeMessage(raw, spec.direction);
        expect(m.kind).toBe('reply');
        expect(m.payload).toEqual(payload);
      }),
      { numRuns: 30 },
    );
  });

  it('acks decode as u64 for ack-rule requests', () => {
    const m = decodeMessage(buildAck('SET_VRING_NUM', 1n));
    expect(m).toMatchObject({ kind: 'reply', request: 'SET_VRING_NUM', payload: 1n, isAck: true });
    const f = decodeMessage(buildReply('GET_FEATURES', 0x140000000n));
    expect(f).toMatchObject({ kind: 'reply', payload: 0x140000000n, isAck: false });
    // SET_LOG_BASE: an 8-byte reply is an ack, 0/16 bytes the LOG_SHMFD reply.
    expect(decodeMessage(buildAck('SET_LOG_BASE', 0n))).toMatchObject({ isAck: true, payload: 0n });
    expect(decodeMessage({ request: 6, flags: 5, size: 0, body: new Uint8Array(0), fds: [] })).toMatchObject({ isAck: false, payload: undefined });
    // SET_MEM_TABLE postcopy reply carries a table.
    const table = { regions: [{ guestPhysAddr: 0n, memorySize: 1n, userspaceAddr: 2n, mmapOffset: 0n }] };
    expect(decodeMessage(buildReply('SET_MEM_TABLE', table)).payload).toEqual(table);
  });

  it('typed messages narrow on kind and request', () => {
    const m = decodeMessage(buildMessage('SET_VRING_NUM', { index: 1, num: 256 }));
    if (m.kind === 'request' && m.request === 'SET_VRING_NUM') {
      const n: number = m.payload.num;
      expect(n).toBe(256);
    } else {
      expect.unreachable('wrong narrowing');
    }
  });

  it('rejects size lies, wrong body sizes and unknown codes with MalformedMessageError', () => {
    const good = buildMessage('SET_VRING_NUM', { index: 0, num: 8 });
    expect(() => decodeMessage({ ...good, size: 9 })).toThrow(/header size 9/);
    expect(() => decodeMessage({ ...good, size: 4, body: good.body.subarray(0, 4) })).toThrow(MalformedMessageError);
    expect(() => decodeMessage({ ...good, request: 46 })).toThrow(/unknown/);
    expect(() => decodeMessage({ ...good, request: 0 })).toThrow(MalformedMessageError);
    expect(() => decodeMessage({ request: 1, flags: 1, size: 8, body: new Uint8Array(8), fds: [] })).toThrow(/empty/);
    expect(() => decodeMessage({ ...good, request: 13 }, Direction.BACKEND_TO_FRONTEND)).toThrow(/unknown/);
  });

  it('decoding arbitrary messages throws only ProtocolErrors (never TypeError/RangeError)', () => {
    const code = fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 0xffffffff }));
    const flags = fc.oneof(fc.constantFrom(0x1, 0x5, 0x9, 0xd, 0x0, 0x3), fc.integer({ min: 0, max: 0xffffffff }));
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ minLength: 260, maxLength: 300 }),
      fc.uint8Array({ minLength: 2040, maxLength: 2070 }),
    );
    fc.assert(
      fc.property(code, flags, body, fc.option(fc.integer({ min: 0, max: 0xffffffff })), fc.constantFrom(...Object.values(Direction)), (request, fl, b, lie, dir) => {
        const raw: RawMessage = { request, flags: fl, size: lie ?? b.byteLength, body: b, fds: [] };
        try {
          decodeMessage(raw, dir);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
        expect(typeof describeMessage(raw, dir)).toBe('string');
        try {
          decodeRaw(encodeRaw(raw));
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('every request code: exhaustive body sizes 0..300 throw only ProtocolErrors', () => {
    for (const spec of ALL) {
      for (const flags of [0x1, 0x5]) {
        for (let n = 0; n <= 300; n++) {
          const body = new Uint8Array(n).fill(0xff);
          try {
            decodeMessage({ request: spec.code, flags, size: n, body, fds: [] }, spec.direction);
          } catch (e) {
            expect(e, `${spec.name} size ${n}`).toBeInstanceOf(ProtocolError);
          }
        }
      }
    }
  });
});

describe('describeMessage', () => {
  it('formats requests, replies and lies', () => {
    expect(describeMessage(buildMessage('SET_VRING_NUM', { index: 0, num: 256 }, { needReply: true }))).toBe(
      'SET_VRING_NUM {index:0,num:256} flags=0x9 fds=0',
    );
    expect(describeMessage(buildMessage('GET_FEATURES', undefined))).toBe('GET_FEATURES flags=0x1 fds=0');
    expect(describeMessage(buildReply('GET_FEATURES', 0x140000000n))).toBe('GET_FEATURES reply 0x140000000 flags=0x5 fds=0');
    expect(describeMessage(buildMessage('SET_VRING_KICK', { index: 1, noFd: false, upper: 0n }, { fds: [9] }))).toBe(
      'SET_VRING_KICK {index:1,noFd:false,upper:0x0} flags=0x1 fds=1',
    );
    const lie = { ...buildMessage('SET_VRING_NUM', { index: 0, num: 1 }), size: 0xffff };
    expect(describeMessage(lie)).toBe('SET_VRING_NUM {index:0,num:1} size=65535 body=8 flags=0x1 fds=0');
    expect(describeMessage({ request: 8, flags: 1, size: 3, body: new Uint8Array(3), fds: [] })).toMatch(
      /^SET_VRING_NUM <malformed: vring-state: expected 8 bytes, got 3> flags=0x1 fds=0$/,
    );
    expect(describeMessage({ request: 99, flags: 1, size: 2, body: new Uint8Array(2), fds: [] })).toBe('UNKNOWN_99 <2 bytes> flags=0x1 fds=0');
    expect(describeMessage({ request: 1, flags: 1, size: 0, body: new Uint8Array(0), fds: [] }, Direction.BACKEND_TO_FRONTEND)).toBe(
      'BACKEND_IOTLB_MSG <malformed: iotlb: expected 32 bytes, got 0> flags=0x1 fds=0',
    );
  });
});
