/**
 * Data-path fuzz scenarios (CHECKLIST VU-DP-003…017, VU-NET-003; PEERS §4: malformed descriptors
 * and chains are the largest class of real back-end bugs — CVE-2018-1059, CVE-2022-2132,
 * CVE-2024-11614, B1, B2, B4, B35): a descriptor table, indirect tables, avail entries and an
 * avail index written by hand on one net ring, after which the device must survive, answer, write
 * nothing outside buffers it may write and report honest used elements.
 *
 * Packed scenarios (virtio §2.8; VU-PK-002/005/008, PEERS §4) write the same descriptors into
 * consecutive slots of a packed ring from its current avail position, across the wrap, with the
 * wrap counter's AVAIL/USED bits set for each slot unless the scenario flips them.
 *
 * Plain data, and symbolic: addresses name a place (the scratch area, an indirect table, an edge
 * of guest memory) rather than a number, so a reproducer means the same thing on any peer and any
 * memory layout, and shrinking moves towards in-bounds, short, flag-free descriptors.
 * @module
 */
import fc from 'fast-check';
import { DescFlag, PackedDescFlag } from '../../fakes/wire/index.js';
import { checkInt } from '../arbitraries/_internals/numbers.js';

/** Ring size of the data-path rig: small, so random `next` and head values hit loops and the table edge often. */
export const DATAPATH_QUEUE_SIZE = 16;
/** Bytes of the scratch area that in-bounds buffers point into. */
export const SCRATCH_BYTES = 0x4000;

/** Ring layouts a scenario can be written in. */
export const LAYOUTS = ['split', 'packed'] as const;
/** One of {@link LAYOUTS}. */
export type RingLayout = (typeof LAYOUTS)[number];

/** Places outside (or at the edge of) guest memory. */
export const EDGES = ['zero', 'before-start', 'last-16', 'end', 'u64-top', 'far'] as const;
/** One of {@link EDGES}. */
export type Edge = (typeof EDGES)[number];

/** Where a descriptor points. */
export type AddrSpec =
  /** `off` bytes into the scratch area (which starts with a net header and a frame). */
  | { readonly k: 'scratch'; readonly off: number }
  /** An edge of guest memory (see {@link EDGES}). */
  | { readonly k: 'edge'; readonly e: Edge }
  /** Indirect table `t` of the scenario (plus `off` bytes: misaligned tables). */
  | { readonly k: 'table'; readonly t: number; readonly off: number };

/** One descriptor as written (no field is checked). */
export interface DescSpec {
  readonly addr: AddrSpec;
  readonly len: number;
  /**
   * Raw flags word: NEXT, WRITE, INDIRECT or anything else. Packed: the AVAIL and USED bits given
   * here are XORed onto the ones that make the descriptor available in its slot's wrap, so 0
   * means well-formed and a set bit 7 or 15 breaks it.
   */
  readonly flags: number;
  /** Split: the `next` index. Packed: the buffer id. */
  readonly next: number;
}

/** The virtio-net header of the frame in the scratch area (offload fields: CVE-2024-11614). */
export interface HeaderSpec {
  readonly flags: number;
  readonly gsoType: number;
  readonly hdrLen: number;
  readonly gsoSize: number;
  readonly csumStart: number;
  readonly csumOffset: number;
}

/** A scenario. */
export interface DatapathScenario {
  /** Ring layout (absent in reproducers from before packed scenarios existed: split). */
  readonly layout?: RingLayout;
  /** `tx`: chains on the TX ring after a warm-up; `rx`: chains on a fresh RX ring, then one frame is sent to land in them. */
  readonly ring: 'tx' | 'rx';
  /** Written at descriptor slots 0, 1, … of the ring's table. */
  readonly descs: readonly DescSpec[];
  /** Indirect tables, placed in the scratch area's second half. */
  readonly tables: readonly (readonly DescSpec[])[];
  /** Avail ring entries after the current `avail->idx` (split only; packed: empty). */
  readonly heads: readonly number[];
  /** `avail->idx` moved by `heads.length + availExtra` instead (index jumps; 0 = none; split only). */
  readonly availExtra: number;
  readonly header: HeaderSpec;
}

/** Options of {@link datapathScenario}. */
export interface DatapathScenarioConstraints {
  /** Most descriptors in the ring table (default and maximum {@link DATAPATH_QUEUE_SIZE}). */
  readonly maxDescs?: number;
  /** Most indirect tables (default 2). */
  readonly maxTables?: number;
  /** Layouts to draw from (default split only). */
  readonly layouts?: readonly RingLayout[];
}

const lenArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(64, 76, 140, 12, 0, 1, 11, 2048, 16, 32) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4096 }) },
  { weight: 1, arbitrary: fc.constantFrom(0xffff_ffff, 0x8000_0000, 0x1_0000 * 16 + 16, SCRATCH_BYTES + 1) },
);

const flagsArb = fc.oneof(
  { weight: 6, arbitrary: fc.subarray([DescFlag.NEXT, DescFlag.WRITE, DescFlag.INDIRECT]).map((fs) => fs.reduce((a, b) => a | b, 0)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);

const nextArb = (n: number): fc.Arbitrary<number> => fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: n - 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(n, DATAPATH_QUEUE_SIZE, 0xffff) },
);

const addrArb = (tables: number): fc.Arbitrary<AddrSpec> => fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant('scratch' as const), off: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: SCRATCH_BYTES / 2 - 1 })) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('edge' as const), e: fc.constantFrom(...EDGES) }) },
  ...(tables > 0 ? [{ weight: 3, arbitrary: fc.record({ k: fc.constant('table' as const), t: fc.integer({ min: 0, max: tables - 1 }), off: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 15 }) }) }) }] : []),
);

const descArb = (tables: number, n: number): fc.Arbitrary<DescSpec> =>
  fc.record({ addr: addrArb(tables), len: lenArb, flags: flagsArb, next: nextArb(n) });

const headerArb: fc.Arbitrary<HeaderSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 }) },
  {
    weight: 1,
    arbitrary: fc.record({
      flags: fc.constantFrom(0, 1, 2, 3, 0xff),
      gsoType: fc.constantFrom(0, 1, 3, 4, 5, 0x80, 0xff),
      hdrLen: fc.oneof(fc.constantFrom(0, 54, 0xffff), fc.nat(0xffff)),
      gsoSize: fc.oneof(fc.constantFrom(0, 1, 1448, 0xffff), fc.nat(0xffff)),
      csumStart: fc.oneof(fc.constantFrom(0, 34, 63, 64, 0xffff), fc.nat(0xffff)),
      csumOffset: fc.oneof(fc.constantFrom(0, 6, 16, 0xffff), fc.nat(0xffff)),
    }),
  },
);

/**
 * A data-path scenario. Built without `chain` so every part shrinks on its own: a head or table
 * reference past what was generated still means something (a stale table slot, canary bytes in
 * the table area), so no field depends on another's length.
 */
export function datapathScenario(c: DatapathScenarioConstraints = {}): fc.Arbitrary<DatapathScenario> {
  const maxDescs = c.maxDescs ?? DATAPATH_QUEUE_SIZE;
  const maxTables = c.maxTables ?? 2;
  const layouts = c.layouts ?? ['split'];
  checkInt('maxDescs', maxDescs, 1, DATAPATH_QUEUE_SIZE);
  checkInt('maxTables', maxTables, 0, 4);
  if (layouts.length === 0 || layouts.some((l) => !LAYOUTS.includes(l))) throw new RangeError(`layouts must be a non-empty list of ${LAYOUTS.join(', ')}`);
  const common = {
    ring: fc.constantFrom('tx' as const, 'rx' as const),
    descs: fc.array(descArb(maxTables, DATAPATH_QUEUE_SIZE), { minLength: 1, maxLength: maxDescs }),
    tables: fc.array(fc.array(descArb(0, 8), { minLength: 1, maxLength: 8 }), { maxLength: maxTables }),
    header: headerArb,
  };
  const split = fc.record({
    ...common,
    heads: fc.array(fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: Math.min(maxDescs, 4) - 1 }) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: maxDescs - 1 }) }, { weight: 1, arbitrary: fc.constantFrom(DATAPATH_QUEUE_SIZE, 0xffff) }), { minLength: 1, maxLength: 4 }),
    availExtra: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(DATAPATH_QUEUE_SIZE + 1, -1, 0x8000) }),
  });
  // Packed rings have no avail ring: the descriptors themselves are posted, in slot order.
  const packed = fc.record({ ...common, layout: fc.constant('packed' as const), heads: fc.constant([] as number[]), availExtra: fc.constant(0) });
  const arbs = [...(layouts.includes('split') ? [split] : []), ...(layouts.includes('packed') ? [packed] : [])];
  return arbs.length === 1 ? arbs[0]! : fc.oneof(...arbs);
}

const FLAG_NAMES: [number, string][] = [[DescFlag.NEXT, 'NEXT'], [DescFlag.WRITE, 'WRITE'], [DescFlag.INDIRECT, 'INDIRECT']];
const PACKED_FLIPS: [number, string][] = [[PackedDescFlag.AVAIL, 'AVAIL flipped'], [PackedDescFlag.USED, 'USED flipped']];

function flagsText(f: number, layout: RingLayout): string {
  const known = layout === 'packed' ? [...FLAG_NAMES, ...PACKED_FLIPS] : FLAG_NAMES;
  const names = known.filter(([b]) => (f & b) !== 0).map(([, n]) => n);
  const rest = f & ~known.reduce((a, [b]) => a | b, 0);
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.join('|') || '0';
}

function addrText(a: AddrSpec): string {
  switch (a.k) {
    case 'scratch': return `scratch+0x${a.off.toString(16)}`;
    case 'edge': return a.e;
    case 'table': return `table ${a.t}${a.off ? `+${a.off}` : ''}`;
  }
}

/** Short human form of a descriptor. */
export function describeDesc(d: DescSpec, layout: RingLayout = 'split'): string {
  return `addr ${addrText(d.addr)} len ${d.len >>> 0} flags ${flagsText(d.flags, layout)} ${layout === 'packed' ? 'id' : 'next'} ${d.next}`;
}

/** The scenario, one line per descriptor, table and post, for reproducers. */
export function describeScenario(s: DatapathScenario): string[] {
  const layout = s.layout ?? 'split';
  const ring = s.ring.toUpperCase();
  const lines = s.descs.map((d, i) => (layout === 'packed' ? `${ring} packed slot avail+${i}: ` : `${ring} desc ${i}: `) + describeDesc(d, layout));
  s.tables.forEach((t, ti) => t.forEach((d, i) => lines.push(`table ${ti}[${i}]: ${describeDesc(d, layout)}`)));
  const h = s.header;
  if (h.flags || h.gsoType || h.hdrLen || h.gsoSize || h.csumStart || h.csumOffset) {
    lines.push(`net header: flags ${h.flags} gso_type ${h.gsoType} hdr_len ${h.hdrLen} gso_size ${h.gsoSize} csum_start ${h.csumStart} csum_offset ${h.csumOffset}`);
  }
  const then = s.ring === 'rx' ? ', then one 64-byte frame on TX' : '';
  if (layout === 'packed') lines.push(`post: the first slot's flags stored last, then a kick${then}`);
  else lines.push(`post heads [${s.heads.join(', ')}]${s.availExtra ? `, avail->idx moved ${s.availExtra > 0 ? '+' : ''}${s.availExtra} beyond them` : ''}${then}`);
  return lines;
}
