/**
 * Structured fuzz inputs: vhost-user message streams (front-end → back-end, as on the main socket:
 * 12-byte header + payload, CHECKLIST §1.1) generated from the wire model's request table, so every
 * front-end request is covered and every payload is built by its family codec.
 *
 * What makes the streams reach deep states:
 * - Addresses are symbolic ({@link AddrRef}: "region k + offset") and resolved against the stream's
 *   memory layout when encoded, so ring addresses land inside the regions that SET_MEM_TABLE
 *   announced far more often than random u64s would, and shrinking keeps them consistent.
 * - The requests a session needs to start a ring (CHECKLIST §2.3) are weighted up; all others
 *   still appear. Ring indices and sizes are biased to small and power-of-two values.
 *
 * Values are plain data (records of numbers, bigints, byte arrays), so fast-check prints and
 * shrinks them; {@link encodeStream} turns one into the bytes a target parses.
 * Only what the FFI fuzzer needs lives here; the general arbitraries are the other files of this
 * folder.
 * @module
 */
import fc from 'fast-check';
import { encodeRaw, type RawMessage } from '../../fakes/wire/message.js';
import { HeaderFlag } from '../../fakes/wire/header.js';
import { FRONTEND_REQUESTS, type RequestSpec } from '../../fakes/wire/requests.js';
import type { PayloadFamily } from '../../fakes/wire/payloads/codec.js';
import type { MemoryRegion } from '../../fakes/wire/payloads/mem-region.js';
import { MAX_REGIONS } from '../../fakes/wire/payloads/memory-table.js';

/** An address: `region` (index into the layout, modulo its length) plus `offset`, or a raw u64. */
export type AddrRef = { readonly region: number; readonly offset: bigint } | { readonly raw: bigint };

/** One generated message: request name, flags, and family-shaped arguments (see `resolve`). */
export interface StreamMessage {
  /** Spec name of the request. */
  readonly request: RequestSpec['name'];
  /** Header flags. */
  readonly flags: number;
  /** Payload arguments; shape depends on the request's payload family. */
  readonly args: unknown;
}

/** A stream: the memory layout the addresses refer to, and the messages. */
export interface MessageStream {
  readonly layout: readonly MemoryRegion[];
  readonly messages: readonly StreamMessage[];
}

/** Options of {@link messageStream}. */
export interface MessageStreamConstraints {
  /** Most messages per stream (default 16). */
  readonly maxMessages?: number;
  /** Most regions in the layout, 1..8 (default 4). */
  readonly maxRegions?: number;
  /**
   * Weight of each ring/memory set-up request against 1 for every other request (default 10).
   * 1 draws all requests alike.
   */
  readonly setupWeight?: number;
}

/** Requests a session needs to get a ring running (QEMU's start sequence, CHECKLIST §2.3). */
export const SETUP_REQUESTS: readonly RequestSpec['name'][] = [
  'GET_FEATURES', 'SET_FEATURES', 'SET_OWNER', 'SET_MEM_TABLE', 'SET_VRING_NUM', 'SET_VRING_BASE',
  'SET_VRING_ADDR', 'SET_VRING_KICK', 'SET_VRING_CALL', 'SET_VRING_ENABLE', 'SET_PROTOCOL_FEATURES',
];

const PAGE = 0x1000n;
/** Front-end user addresses start where a 64-bit QEMU maps guest RAM. */
const QVA_BASE = 0x7f00_0000_0000n;

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

/** Ring index: 0 or 1 most of the time, any u8 now and then. */
const ringIndex = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 1 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) });

/** Ring size: a power of two most of the time. */
const ringNum = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 15 }).map((k) => 2 ** k) },
  { weight: 1, arbitrary: u32 },
);

/** Offset inside a region, biased to small multiples of 16 (ring alignment). */
const regionOffset = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 4095 }).map((k) => BigInt(k) * 16n) },
  { weight: 1, arbitrary: u64 },
);

/** A symbolic address. */
export const addrRef = (maxRegions: number): fc.Arbitrary<AddrRef> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ region: fc.integer({ min: 0, max: maxRegions - 1 }), offset: regionOffset }) },
    { weight: 1, arbitrary: fc.record({ raw: u64 }) },
  );

/**
 * A memory layout of 1..`maxRegions` regions with QEMU-like values: page-aligned guest and user
 * addresses, sizes of 4 KiB to 1 MiB (and now and then any u64). Regions may overlap; the
 * back-end under test has to cope.
 */
export function memoryLayout(maxRegions = 4): fc.Arbitrary<MemoryRegion[]> {
  checkRegions(maxRegions);
  const region = fc.record({
    guestPhysAddr: fc.integer({ min: 0, max: 0xffff }).map((p) => BigInt(p) * PAGE),
    memorySize: fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 1, max: 256 }).map((p) => BigInt(p) * PAGE) },
      { weight: 1, arbitrary: u64 },
    ),
    userspaceAddr: fc.integer({ min: 0, max: 0xffff }).map((p) => QVA_BASE + BigInt(p) * PAGE),
    mmapOffset: fc.oneof({ weight: 4, arbitrary: fc.constant(0n) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((p) => BigInt(p) * PAGE) }),
  });
  return fc.array(region, { minLength: 1, maxLength: maxRegions });
}

/** Argument arbitraries per payload family; families not listed get opaque bytes. */
function familyArgs(family: PayloadFamily, maxRegions: number): fc.Arbitrary<unknown> {
  const addr = addrRef(maxRegions);
  switch (family) {
    case 'empty':
      return fc.constant(undefined);
    case 'u64':
      return fc.oneof(fc.bigInt({ min: 0n, max: 0xffffn }), u64);
    case 'vring-state':
      return fc.record({ index: ringIndex, num: ringNum });
    case 'vring-fd':
      return fc.record({ index: ringIndex, noFd: fc.boolean(), upper: fc.oneof({ weight: 8, arbitrary: fc.constant(0n) }, { weight: 1, arbitrary: u64.map((v) => v & ~0x1ffn) }) });
    case 'vring-addr':
      return fc.record({ index: ringIndex, flags: fc.constantFrom(0, 1), desc: addr, used: addr, avail: addr, log: addr });
    case 'memory-table':
      return fc.record({ take: fc.integer({ min: 0, max: maxRegions }) });
    case 'mem-region':
      return fc.record({ region: fc.integer({ min: 0, max: maxRegions - 1 }) });
    case 'log':
      return fc.record({ mmapSize: fc.oneof(fc.constant(0x1000n), u64), mmapOffset: fc.oneof(fc.constant(0n), u64) });
    case 'config':
      return fc.record({ offset: fc.oneof(fc.integer({ min: 0, max: 256 }), u32), flags: fc.constantFrom(0, 1), data: fc.uint8Array({ maxLength: 256 }) });
    case 'inflight':
      return fc.record({ mmapSize: u64, mmapOffset: u64, numQueues: fc.integer({ min: 0, max: 0xffff }), queueSize: fc.integer({ min: 0, max: 0xffff }) });
    case 'iotlb':
      return fc.record({ iova: addr, size: fc.oneof(fc.constant(0x1000n), u64), uaddr: addr, perm: fc.integer({ min: 0, max: 3 }), type: fc.integer({ min: 1, max: 4 }) });
    case 'shared-object':
      return fc.uint8Array({ minLength: 16, maxLength: 16 });
    case 'device-state':
      return fc.record({ direction: fc.integer({ min: 0, max: 2 }), phase: fc.integer({ min: 0, max: 1 }) });
    default:
      return fc.uint8Array({ maxLength: 64 });
  }
}

/** Resolves an address against the layout: region k's user address plus the offset, modulo its size. */
export function resolveAddr(a: AddrRef, layout: readonly MemoryRegion[]): bigint {
  if ('raw' in a) return a.raw;
  if (layout.length === 0) return a.offset;
  const r = layout[a.region % layout.length]!;
  const off = r.memorySize > 0n ? a.offset % r.memorySize : a.offset;
  return (r.userspaceAddr + off) & ((1n << 64n) - 1n);
}

/** Builds the codec value of one message from its arguments and the layout. */
function resolvePayload(spec: RequestSpec, args: unknown, layout: readonly MemoryRegion[]): unknown {
  const a = args as Record<string, unknown>;
  const addr = (k: string): bigint => resolveAddr(a[k] as AddrRef, layout);
  switch (spec.payload.family) {
    case 'vring-addr':
      return { index: a.index, flags: a.flags, descAddr: addr('desc'), usedAddr: addr('used'), availAddr: addr('avail'), logGuestAddr: addr('log') };
    case 'memory-table':
      return { regions: layout.slice(0, Math.min(layout.length, a.take as number)) };
    case 'mem-region':
      return { region: layout[(a.region as number) % Math.max(1, layout.length)] ?? layout[0] };
    case 'config': {
      const data = a.data as Uint8Array;
      return { offset: a.offset, size: data.byteLength, flags: a.flags, data };
    }
    case 'iotlb':
      return { iova: addr('iova'), size: a.size, uaddr: addr('uaddr'), perm: a.perm, type: a.type };
    case 'shared-object':
      return { uuid: args };
    default:
      return args;
  }
}

const SPECS = new Map(FRONTEND_REQUESTS.map((s) => [s.name, s] as const));

/** One message of any front-end request, set-up requests weighted by `setupWeight`. */
export function streamMessage(constraints: MessageStreamConstraints = {}): fc.Arbitrary<StreamMessage> {
  const maxRegions = constraints.maxRegions ?? 4;
  const setupWeight = constraints.setupWeight ?? 10;
  checkRegions(maxRegions);
  if (!Number.isInteger(setupWeight) || setupWeight < 1) throw new RangeError(`setupWeight must be an integer >= 1, got ${setupWeight}`);
  const flags = fc.oneof({ weight: 4, arbitrary: fc.constant(HeaderFlag.VERSION) }, { weight: 1, arbitrary: fc.constant(HeaderFlag.VERSION | HeaderFlag.NEED_REPLY) });
  return fc.oneof(
    ...FRONTEND_REQUESTS.map((spec) => ({
      weight: SETUP_REQUESTS.includes(spec.name) ? setupWeight : 1,
      arbitrary: fc.record({ request: fc.constant(spec.name), flags, args: familyArgs(spec.payload.family, maxRegions) }),
    })),
  );
}

/**
 * A ring bring-up as QEMU sends it for one virtqueue (CHECKLIST §2.3): SET_VRING_NUM,
 * SET_VRING_ADDR and SET_VRING_KICK on the same index. Drawn as one unit because three
 * independent draws rarely agree on the index, and the ring only starts when all three do.
 */
export function ringSetup(maxRegions = 4): fc.Arbitrary<StreamMessage[]> {
  const flags = fc.constant(HeaderFlag.VERSION);
  return fc
    .record({ index: ringIndex, num: ringNum, addr: familyArgs('vring-addr', maxRegions), kick: familyArgs('vring-fd', maxRegions), flags })
    .map(({ index, num, addr, kick, flags: f }) => [
      { request: 'SET_VRING_NUM', flags: f, args: { index, num } },
      { request: 'SET_VRING_ADDR', flags: f, args: { ...(addr as object), index } },
      { request: 'SET_VRING_KICK', flags: f, args: { ...(kick as object), index } },
    ]);
}

/** A message stream: a layout and 1..`maxMessages` items (messages or ring bring-ups). */
export function messageStream(constraints: MessageStreamConstraints = {}): fc.Arbitrary<MessageStream> {
  const maxMessages = constraints.maxMessages ?? 16;
  if (!Number.isInteger(maxMessages) || maxMessages < 1) throw new RangeError(`maxMessages must be an integer >= 1, got ${maxMessages}`);
  // Messages come first: fast-check shrinks record fields in order, and dropping messages is what
  // makes a reproducer short (each accepted shrink step of a crashing target costs a restart).
  return fc.record({
    // Items are single messages or, one time in six, a ring bring-up (three messages).
    messages: fc
      .array(
        fc.oneof({ weight: 5, arbitrary: streamMessage(constraints).map((m) => [m]) }, { weight: 1, arbitrary: ringSetup(constraints.maxRegions ?? 4) }),
        { minLength: 1, maxLength: maxMessages },
      )
      .map((groups) => groups.flat()),
    layout: memoryLayout(constraints.maxRegions ?? 4),
  });
}

/** The raw messages of a stream (size = body length, no fds: a byte stream carries none). */
export function streamMessages(stream: MessageStream): RawMessage[] {
  return stream.messages.map((m) => {
    const spec = SPECS.get(m.request);
    if (spec === undefined) throw new RangeError(`unknown request ${m.request}`);
    const body = spec.payload.codec.encode(resolvePayload(spec, m.args, stream.layout));
    return { request: spec.code, flags: m.flags, size: body.byteLength, body, fds: [] };
  });
}

/** The stream as one byte string, messages back to back. */
export function encodeStream(stream: MessageStream): Uint8Array {
  const parts = streamMessages(stream).map(encodeRaw);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

function checkRegions(maxRegions: number): void {
  if (!Number.isInteger(maxRegions) || maxRegions < 1 || maxRegions > MAX_REGIONS) {
    throw new RangeError(`maxRegions must be an integer in 1..${MAX_REGIONS}, got ${maxRegions}`);
  }
}
