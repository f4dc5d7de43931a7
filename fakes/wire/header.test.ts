import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MalformedMessageError } from './errors.js';
import {
  HEADER_SIZE,
  HeaderFlag,
  REPLY_FLAGS,
  decodeHeader,
  encodeHeader,
  hasReservedFlags,
  hasValidVersion,
  isReply,
  isReplyFor,
  isStrictReplyFor,
  makeFlags,
  needsReply,
} from './header.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });

describe('header', () => {
  it('round-trips every u32 triple', () => {
    fc.assert(
      fc.property(u32, u32, u32, (request, flags, size) => {
        const bytes = encodeHeader({ request, flags, size });
        expect(bytes.byteLength).toBe(HEADER_SIZE);
        expect(decodeHeader(bytes)).toEqual({ request, flags, size });
      }),
    );
  });

  it('decodes any 12 bytes and re-encodes them identically', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 12 }), (b) => {
        expect(encodeHeader(decodeHeader(b))).toEqual(b);
      }),
    );
  });

  it('lays out request, flags, size in host (little-endian) order', () => {
    const b = encodeHeader({ request: 8, flags: 0x9, size: 8 });
    expect(Array.from(b)).toEqual([8, 0, 0, 0, 9, 0, 0, 0, 8, 0, 0, 0]);
  });

  it('decodes at an offset and writes into a given buffer', () => {
    const buf = new Uint8Array(20);
    encodeHeader({ request: 1, flags: 5, size: 8 }, buf, 4);
    expect(decodeHeader(buf, 4)).toEqual({ request: 1, flags: 5, size: 8 });
  });

  it('throws MalformedMessageError on short input', () => {
    expect(() => decodeHeader(new Uint8Array(11))).toThrow(MalformedMessageError);
    expect(() => decodeHeader(new Uint8Array(12), 1)).toThrow(MalformedMessageError);
    expect(() => decodeHeader(new Uint8Array(12), -1)).toThrow(MalformedMessageError);
  });

  it('flag helpers', () => {
    expect(REPLY_FLAGS).toBe(0x5);
    expect(makeFlags()).toBe(HeaderFlag.VERSION);
    expect(makeFlags({ needReply: true })).toBe(0x9);
    expect(makeFlags({ reply: true })).toBe(0x5);
    expect(needsReply({ flags: 0x9 })).toBe(true);
    expect(needsReply({ flags: 0x5 })).toBe(false);
    expect(isReply({ flags: 0x5 })).toBe(true);
    expect(isReply({ flags: 0x1 })).toBe(false);
    expect(hasValidVersion({ flags: 0x1 })).toBe(true);
    expect(hasValidVersion({ flags: 0x2 })).toBe(false);
    expect(hasValidVersion({ flags: 0x0 })).toBe(false);
    expect(hasReservedFlags({ flags: 0x10 })).toBe(true);
    expect(hasReservedFlags({ flags: 0x80000001 })).toBe(true);
    expect(hasReservedFlags({ flags: 0xd })).toBe(false);
  });

  it('isReplyFor / isStrictReplyFor', () => {
    expect(isReplyFor({ request: 1, flags: 0x5, size: 8 }, 1)).toBe(true);
    expect(isReplyFor({ request: 1, flags: 0xd, size: 8 }, 1)).toBe(true);
    expect(isStrictReplyFor({ request: 1, flags: 0xd, size: 8 }, 1)).toBe(false);
    expect(isReplyFor({ request: 2, flags: 0x5, size: 8 }, 1)).toBe(false);
    expect(isReplyFor({ request: 1, flags: 0x1, size: 8 }, 1)).toBe(false);
    expect(isStrictReplyFor({ request: 1, flags: 0x5, size: 8 }, 1)).toBe(true);
  });
});
