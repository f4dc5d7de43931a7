/**
 * vhost-user message streams for `fuzz ffi --input structured`, as a {@link ChoiceGenerator}
 * that writes frames (12-byte header + payload, CHECKLIST §1.1) straight into a scratch buffer.
 *
 * It draws the same things, with the same weights, as the fast-check arbitrary
 * `messageStream` (fuzz/arbitraries/message-stream.ts), which stays the readable specification
 * and the generator of old reproducers:
 * - a memory layout of 1..maxRegions regions with QEMU-like values (page-aligned guest and user
 *   addresses, sizes of 4 KiB..1 MiB, now and then any u64);
 * - 1..maxMessages items, each a single message (5 in 6) or a ring bring-up (SET_VRING_NUM,
 *   SET_VRING_ADDR, SET_VRING_KICK on one index, drawn as a unit because three independent draws
 *   rarely agree on the index);
 * - single messages of every front-end request of the wire table (`FRONTEND_REQUESTS`), the
 *   ring/memory set-up requests weighted up, with family-shaped payloads: ring indices mostly 0
 *   or 1, ring sizes mostly powers of two, addresses mostly "region k + small offset" resolved
 *   against the layout exactly as `resolveAddr` does, so rings land inside announced regions; and
 *   the subtly invalid values (any u64, any u32, NEED_REPLY, NOFD, stray upper bits) now and then.
 *
 * Why by hand: the combinator form costs 50–70 µs per stream in fast-check's bookkeeping, bigints
 * and codec objects; this one a few microseconds, which is what lets the worker run hundreds of
 * thousands of streams per second. Payload layouts are the wire codecs' (fixed sizes are read from
 * the request table); stream-generator.test.ts decodes generated streams with those codecs.
 * @module
 */
import { HEADER_SIZE, HeaderFlag } from '../../fakes/wire/header.js';
import type { PayloadFamily } from '../../fakes/wire/payloads/codec.js';
import { MAX_REGIONS } from '../../fakes/wire/payloads/memory-table.js';
import { FRONTEND_REQUESTS, requestSpecByName } from '../../fakes/wire/requests.js';
import { SETUP_REQUESTS } from '../arbitraries/message-stream.js';
import type { ChoiceGenerator } from './choice-arbitrary.js';
import type { Choices } from './choices.js';

/** Options of {@link streamGenerator} (the `messageStream` constraints). */
export interface StreamGeneratorOptions {
  /** Most items per stream (a ring bring-up is one item of three messages). */
  readonly maxMessages: number;
  /** Most regions in the layout, 1..8. */
  readonly maxRegions: number;
  /** Weight of each set-up request against 1 for every other request (default 10). */
  readonly setupWeight?: number;
}

const TWO_32 = 4294967296;
const PAGE = 0x1000;
/** Front-end user addresses start where a 64-bit QEMU maps guest RAM: 0x7f00_0000_0000 (high word). */
const QVA_HI = 0x7f00;
/** Largest body the generator writes: a full memory table (8 + 32 · 8). */
const MAX_BODY = 8 + 32 * MAX_REGIONS;
/** Most bytes of a generated `uint8Array` (fast-check's default size "small" caps lengths at 10). */
const SMALL_LENGTH = 10;
/** Largest list length fast-check draws by default ("small" size), see `SMALL_LENGTH`. */
const DEFAULT_MAX_ITEMS = 10;

/** Per-family body writers: draw the arguments, write the body at `off`, return its size. */
type BodyWriter = (s: StreamState, off: number) => number;

/**
 * The layout of the stream being generated. u64 fields are kept as (hi, lo) u32 pairs, in int32
 * arrays where the values fit, so the common address path is integer arithmetic only.
 */
class StreamState {
  readonly scratch: Uint8Array;
  readonly view: DataView;
  src!: Choices;
  regions = 0;
  /** Guest address, user address (low word; the high word is {@link QVA_HI}) and mmap offset: page multiples below 2^28. */
  readonly gpa = new Int32Array(MAX_REGIONS);
  readonly uaddrLo = new Int32Array(MAX_REGIONS);
  readonly mmapOffset = new Int32Array(MAX_REGIONS);
  /** Region size as a u32 pair. */
  readonly sizeHi = new Float64Array(MAX_REGIONS);
  readonly sizeLo = new Float64Array(MAX_REGIONS);
  /** The size when it is 1..2^21 - 1 (all QEMU-like sizes), else 0: the fast modulo. */
  readonly smallSize = new Int32Array(MAX_REGIONS);

  constructor(readonly maxRegions: number, bytes: number) {
    this.scratch = new Uint8Array(bytes);
    this.view = new DataView(this.scratch.buffer);
  }

  /** Writes a u64 below 2^32. */
  u64Lo(off: number, v: number): void {
    this.view.setUint32(off, v, true);
    this.view.setUint32(off + 4, 0, true);
  }

  /** Writes any u64 (two uniform u32 draws, low word first). */
  anyU64(off: number): void {
    this.view.setUint32(off, this.src.u32(), true);
    this.view.setUint32(off + 4, this.src.u32(), true);
  }

  /** Writes region `r` in the 32-byte `VhostUserMemoryRegion` layout. */
  region(off: number, r: number): void {
    this.u64Lo(off, this.gpa[r]!);
    this.view.setUint32(off + 8, this.sizeLo[r]!, true);
    this.view.setUint32(off + 12, this.sizeHi[r]!, true);
    this.view.setUint32(off + 16, this.uaddrLo[r]!, true);
    this.view.setUint32(off + 20, QVA_HI, true);
    this.u64Lo(off + 24, this.mmapOffset[r]!);
  }

  /** `addrRef` + `resolveAddr`: mostly region k + a 16-aligned offset below 64 KiB, else any u64. */
  address(off: number): void {
    const src = this.src;
    if (src.below(7) === 6) return this.anyU64(off);
    const r = src.below(this.maxRegions) % this.regions;
    if (src.below(7) < 6) {
      let o = src.below(4096) * 16;
      const small = this.smallSize[r]!;
      if (small !== 0) o %= small;
      else if (this.sizeHi[r] === 0 && this.sizeLo[r] !== 0) o %= this.sizeLo[r]!;
      // The user address's low word is below 2^28 and o below 2^16: no carry.
      this.view.setUint32(off, this.uaddrLo[r]! + o, true);
      this.view.setUint32(off + 4, QVA_HI, true);
      return;
    }
    this.rawOffset(off, r, src.u32(), src.u32());
  }

  /** The rare address "region r + any u64": offset % size (when not 0) + user address, mod 2^64. */
  private rawOffset(off: number, r: number, oLo: number, oHi: number): void {
    const sHi = this.sizeHi[r]!;
    const sLo = this.sizeLo[r]!;
    if (sHi !== 0 || sLo !== 0) {
      if (sHi === 0 && sLo < 1 << 21) {
        // (oHi % s) < 2^21, so the sum stays below 2^53: exact in doubles.
        oLo = ((oHi % sLo) * TWO_32 + oLo) % sLo;
        oHi = 0;
      } else if (oHi === 0) {
        if (sHi === 0) oLo %= sLo; // else the offset is below the size and stays
      } else {
        const m = ((BigInt(oHi) << 32n) | BigInt(oLo)) % ((BigInt(sHi) << 32n) | BigInt(sLo));
        oHi = Number(m >> 32n);
        oLo = Number(m & 0xffffffffn);
      }
    }
    const lo = oLo + this.uaddrLo[r]!;
    this.view.setUint32(off, lo % TWO_32, true);
    this.view.setUint32(off + 4, (oHi + QVA_HI + (lo >= TWO_32 ? 1 : 0)) % TWO_32, true);
  }

  /** Ring index: 0 or 1 eight times in nine, any u8 otherwise. */
  ringIndex(): number {
    return this.src.below(9) < 8 ? this.src.below(2) : this.src.below(256);
  }

  /** Ring size: a power of two six times in seven, any u32 otherwise. */
  ringNum(): number {
    return this.src.below(7) < 6 ? 1 << this.src.below(16) : this.src.u32();
  }

  /** `length` random bytes at `off` (whole words are written; the tail is overwritten later). */
  bytes(off: number, length: number): void {
    for (let i = 0; i < length; i += 4) this.view.setUint32(off + i, this.src.u32(), true);
  }
}

const vringState: BodyWriter = (s, off) => {
  s.view.setUint32(off, s.ringIndex(), true);
  s.view.setUint32(off + 4, s.ringNum(), true);
  return 8;
};

/** vring-fd with the index given: bits 0–7 index, bit 8 NOFD, bits 9–63 mostly 0. */
function vringFdWith(s: StreamState, off: number, index: number): number {
  const noFd = s.src.below(2);
  let upperLo = 0;
  let upperHi = 0;
  if (s.src.below(9) === 8) {
    upperLo = s.src.u32();
    upperHi = s.src.u32();
  }
  s.view.setUint32(off, ((index & 0xff) | (noFd << 8) | (upperLo & ~0x1ff)) >>> 0, true);
  s.view.setUint32(off + 4, upperHi, true);
  return 8;
}

/** vring-addr with the index given: flags, then desc, used, avail and log addresses. */
function vringAddrWith(s: StreamState, off: number, index: number): number {
  s.view.setUint32(off, index, true);
  s.view.setUint32(off + 4, s.src.below(2), true);
  s.address(off + 8);
  s.address(off + 16);
  s.address(off + 24);
  s.address(off + 32);
  return 40;
}

const WRITERS: Partial<Record<PayloadFamily, BodyWriter>> = {
  'empty': () => 0,
  'u64': (s, off) => {
    if (s.src.below(2) === 0) s.u64Lo(off, s.src.below(0x10000));
    else s.anyU64(off);
    return 8;
  },
  'vring-state': vringState,
  'vring-fd': (s, off) => vringFdWith(s, off, s.ringIndex()),
  'vring-addr': (s, off) => vringAddrWith(s, off, s.ringIndex()),
  'memory-table': (s, off) => {
    // The first `take` regions of the layout (QEMU's `8 + 32·n` form).
    const n = Math.min(s.regions, s.src.below(s.maxRegions + 1));
    s.view.setUint32(off, n, true);
    s.view.setUint32(off + 4, 0, true);
    for (let i = 0; i < n; i++) s.region(off + 8 + 32 * i, i);
    return 8 + 32 * n;
  },
  'mem-region': (s, off) => {
    s.u64Lo(off, 0);
    s.region(off + 8, s.src.below(s.maxRegions) % s.regions);
    return 40;
  },
  'log': (s, off) => {
    if (s.src.below(2) === 0) s.u64Lo(off, 0x1000);
    else s.anyU64(off);
    if (s.src.below(2) === 0) s.u64Lo(off + 8, 0);
    else s.anyU64(off + 8);
    return 16;
  },
  'config': (s, off) => {
    s.view.setUint32(off, s.src.below(2) === 0 ? s.src.below(257) : s.src.u32(), true);
    const flags = s.src.below(2);
    const length = s.src.below(SMALL_LENGTH + 1);
    s.view.setUint32(off + 4, length, true);
    s.view.setUint32(off + 8, flags, true);
    s.bytes(off + 12, length);
    return 12 + length;
  },
  'inflight': (s, off) => {
    s.anyU64(off);
    s.anyU64(off + 8);
    s.view.setUint16(off + 16, s.src.below(0x10000), true);
    s.view.setUint16(off + 18, s.src.below(0x10000), true);
    s.view.setUint32(off + 20, 0, true);
    return 24;
  },
  'iotlb': (s, off) => {
    s.address(off);
    if (s.src.below(2) === 0) s.u64Lo(off + 8, 0x1000);
    else s.anyU64(off + 8);
    s.address(off + 16);
    s.view.setUint8(off + 24, s.src.below(4));
    s.view.setUint8(off + 25, 1 + s.src.below(4));
    s.view.setUint16(off + 26, 0, true);
    s.view.setUint32(off + 28, 0, true);
    return 32;
  },
  'shared-object': (s, off) => {
    s.bytes(off, 16);
    return 16;
  },
  'device-state': (s, off) => {
    s.view.setUint32(off, s.src.below(3), true);
    s.view.setUint32(off + 4, s.src.below(2), true);
    return 8;
  },
};

/** Families without a writer get a few opaque bytes, like the arbitrary's default case. */
const opaque: BodyWriter = (s, off) => {
  const length = s.src.below(SMALL_LENGTH + 1);
  s.bytes(off, length);
  return length;
};

/** The structured generator; checks its options eagerly. */
export function streamGenerator(opts: StreamGeneratorOptions): ChoiceGenerator {
  const { maxMessages, maxRegions } = opts;
  const setupWeight = opts.setupWeight ?? 10;
  if (!Number.isInteger(maxMessages) || maxMessages < 1) throw new RangeError(`maxMessages must be an integer >= 1, got ${maxMessages}`);
  if (!Number.isInteger(maxRegions) || maxRegions < 1 || maxRegions > MAX_REGIONS) {
    throw new RangeError(`maxRegions must be an integer in 1..${MAX_REGIONS}, got ${maxRegions}`);
  }
  if (!Number.isInteger(setupWeight) || setupWeight < 1) throw new RangeError(`setupWeight must be an integer >= 1, got ${setupWeight}`);

  // Weighted request choice as a lookup table: one draw, one load.
  const codes: number[] = [];
  const writers: BodyWriter[] = [];
  const lookup: number[] = [];
  FRONTEND_REQUESTS.forEach((spec, i) => {
    codes.push(spec.code);
    writers.push(WRITERS[spec.payload.family] ?? opaque);
    const weight = SETUP_REQUESTS.includes(spec.name) ? setupWeight : 1;
    for (let w = 0; w < weight; w++) lookup.push(i);
  });
  const requestOf = Uint8Array.from(lookup);
  const codeOf = Int32Array.from(codes);
  const NUM = requestSpecByName('SET_VRING_NUM').code;
  const ADDR = requestSpecByName('SET_VRING_ADDR').code;
  const KICK = requestSpecByName('SET_VRING_KICK').code;
  const V = HeaderFlag.VERSION;
  const VN = HeaderFlag.VERSION | HeaderFlag.NEED_REPLY;

  // A ring bring-up is the longest item: three messages.
  const s = new StreamState(maxRegions, maxMessages * 3 * (HEADER_SIZE + MAX_BODY) + 16);
  const frame = (off: number, code: number, flags: number, size: number): void => {
    s.view.setUint32(off, code, true);
    s.view.setUint32(off + 4, flags, true);
    s.view.setUint32(off + 8, size, true);
  };

  return (src: Choices, small: boolean): Uint8Array => {
    s.src = src;
    // Item count first, so shrinking drops messages before it touches the layout.
    const cap = Math.min(maxMessages, small ? 4 : src.below(8) === 0 ? maxMessages : DEFAULT_MAX_ITEMS);
    const itemsPos = src.position;
    const items = 1 + src.below(cap);
    // Layout (memoryLayout): 1..maxRegions regions.
    const regionsPos = src.position;
    s.regions = 1 + src.below(maxRegions);
    for (let r = 0; r < s.regions; r++) {
      const start = src.position;
      s.gpa[r] = src.below(0x10000) * PAGE;
      if (src.below(9) < 8) {
        s.sizeLo[r] = (1 + src.below(256)) * PAGE;
        s.sizeHi[r] = 0;
      } else {
        s.sizeLo[r] = src.u32();
        s.sizeHi[r] = src.u32();
      }
      s.smallSize[r] = s.sizeHi[r] === 0 && s.sizeLo[r]! < 1 << 21 ? s.sizeLo[r]! : 0;
      s.uaddrLo[r] = src.below(0x10000) * PAGE;
      s.mmapOffset[r] = src.below(5) < 4 ? 0 : src.below(0x10000) * PAGE;
      src.item(start, regionsPos);
    }
    let off = 0;
    for (let i = 0; i < items; i++) {
      const start = src.position;
      if (src.below(6) < 5) {
        const flags = src.below(5) < 4 ? V : VN;
        const req = requestOf[src.below(requestOf.length)]!;
        const size = writers[req]!(s, off + HEADER_SIZE);
        frame(off, codeOf[req]!, flags, size);
        off += HEADER_SIZE + size;
      } else {
        const index = s.ringIndex();
        frame(off, NUM, V, 8);
        s.view.setUint32(off + HEADER_SIZE, index, true);
        s.view.setUint32(off + HEADER_SIZE + 4, s.ringNum(), true);
        off += HEADER_SIZE + 8;
        frame(off, ADDR, V, 40);
        off += HEADER_SIZE + vringAddrWith(s, off + HEADER_SIZE, index);
        frame(off, KICK, V, 8);
        off += HEADER_SIZE + vringFdWith(s, off + HEADER_SIZE, index);
      }
      src.item(start, itemsPos);
    }
    return s.scratch.subarray(0, off);
  };
}
