/**
 * Descriptor lifetime tracking on the driver side (CHECKLIST §5.15): every head goes
 * free → staged (written, not yet published) → available (published by the `avail->idx` store)
 * → used (returned by the device) → free, and the tracker records each way a device breaks that
 * cycle as a {@link LifetimeViolation} carrying the requirement id:
 *
 * | kind | rule | what the device did |
 * |---|---|---|
 * | `bad-id` | VU-DP-008 | returned an id that is not a descriptor index (≥ queue size) |
 * | `not-available` | VU-DP-019 | returned a head the driver never published (or only staged) |
 * | `used-twice` | VU-DP-019 | returned a head again after it was already returned |
 * | `len-too-large` | VU-DP-008 | `used.len` larger than the chain's writable bytes |
 * | `readable-modified` | VU-DP-006 | wrote into a device-readable buffer (opt-in `checkReadable`) |
 * | `write-after-return` | VU-DP-020 | wrote a buffer after returning it (opt-in canaries, {@link LifetimeTracker.arm}) |
 *
 * Cost: the always-on part is a few typed-array stores per head (no allocation per packet), so
 * it stays enabled in traffic runs. Readable copies and canaries allocate and are opt-in. The
 * tracker is keyed by "head" but only needs an id below the queue size, so a packed-ring driver
 * can feed it buffer ids through the same hooks.
 * @module
 */

import type { GuestMemory } from '../memory/guest-memory.js';
import type { BufferSegment, LifetimeViolation } from './chain.js';

/** Requirement ids the tracker reports, by violation kind. */
export const LifetimeRule = {
  'bad-id': 'VU-DP-008',
  'not-available': 'VU-DP-019',
  'used-twice': 'VU-DP-019',
  'len-too-large': 'VU-DP-008',
  'readable-modified': 'VU-DP-006',
  'write-after-return': 'VU-DP-020',
} as const;
/** Kinds of lifetime violation. */
export type LifetimeViolationKind = keyof typeof LifetimeRule;

/** A {@link LifetimeViolation} with its machine-readable kind. */
export interface TrackedViolation extends LifetimeViolation {
  /** Which check fired. */
  readonly kind: LifetimeViolationKind;
}

/** Options of {@link LifetimeTracker}. */
export interface LifetimeTrackerOptions {
  /**
   * Copy every device-readable buffer when it is added and compare at return (VU-DP-006).
   * Allocates per chain; off by default.
   */
  readonly checkReadable?: boolean;
  /** Keep at most this many violations (default 1000); later ones only count in `dropped`. */
  readonly maxViolations?: number;
}

/** Head states. */
const FREE = 0;
const STAGED = 1;
const AVAIL = 2;

interface Copy {
  readonly addr: number;
  readonly bytes: Uint8Array;
}

interface Canary {
  readonly head: number;
  readonly addr: number;
  readonly len: number;
}

/** Byte `i` of a canary: varies with the offset so shifted or partial copies show too. */
const canaryByte = (i: number): number => (0xa5 + 7 * i) & 0xff;

const toNumberAddr = (addr: number | bigint): number =>
  typeof addr === 'bigint' ? (addr <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(addr) : -1) : addr;

/** Follows every head through its lifetime and records violations (see the module comment). */
export class LifetimeTracker {
  readonly #mem: GuestMemory;
  readonly #size: number;
  readonly #checkReadable: boolean;
  readonly #max: number;
  readonly #state: Uint8Array;
  // 1 when the head was returned and not added again: tells "used twice" from "never published".
  readonly #returned: Uint8Array;
  // Writable bytes of each head's chain; Float64 because a chain may sum past 2^32.
  readonly #writable: Float64Array;
  // The last chain of each head, for arm(): single buffers in typed arrays, chains as arrays.
  readonly #lastAddr: Float64Array;
  readonly #lastLen: Uint32Array;
  readonly #lastWritable: Uint8Array;
  readonly #lastChain: (readonly BufferSegment[] | undefined)[];
  readonly #copies: (Copy[] | undefined)[];
  #canaries: Canary[] = [];
  readonly #violations: TrackedViolation[] = [];
  #dropped = 0;
  #returnedCount = 0;

  /**
   * @param mem - the guest memory the buffers live in (read for the opt-in checks).
   * @param size - queue size: ids are `0 … size − 1`.
   */
  constructor(mem: GuestMemory, size: number, options: LifetimeTrackerOptions = {}) {
    this.#mem = mem;
    this.#size = size;
    this.#checkReadable = options.checkReadable ?? false;
    this.#max = options.maxViolations ?? 1000;
    this.#state = new Uint8Array(size);
    this.#returned = new Uint8Array(size);
    this.#writable = new Float64Array(size);
    this.#lastAddr = new Float64Array(size);
    this.#lastLen = new Uint32Array(size);
    this.#lastWritable = new Uint8Array(size);
    this.#lastChain = new Array<readonly BufferSegment[] | undefined>(size).fill(undefined);
    this.#copies = new Array<Copy[] | undefined>(size).fill(undefined);
  }

  /** Violations recorded so far (at most `maxViolations`). */
  get violations(): readonly TrackedViolation[] {
    return this.#violations;
  }

  /** Violations not kept because the list was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Chains returned correctly so far. */
  get returned(): number {
    return this.#returnedCount;
  }

  /** Canaries currently armed. */
  get armedCount(): number {
    return this.#canaries.length;
  }

  /** Forgets the recorded violations (state is kept). */
  clearViolations(): void {
    this.#violations.length = 0;
    this.#dropped = 0;
  }

  // ---- hooks the driver calls --------------------------------------------------------------

  /** A one-buffer chain was written for `head` (not yet published). */
  onAddSingle(head: number, addr: number, len: number, writable: boolean): void {
    if (this.#canaries.length > 0) this.#disarmOverlapping(addr, len);
    this.#state[head] = STAGED;
    this.#returned[head] = 0;
    this.#writable[head] = writable ? len : 0;
    this.#lastAddr[head] = addr;
    this.#lastLen[head] = len;
    this.#lastWritable[head] = writable ? 1 : 0;
    this.#lastChain[head] = undefined;
    if (this.#checkReadable) this.#copies[head] = writable ? undefined : this.#copy([{ addr, len, writable }]);
  }

  /** A chain of several buffers (direct or indirect) was written for `head`. */
  onAddChain(head: number, segments: readonly BufferSegment[]): void {
    let w = 0;
    for (const s of segments) {
      if (this.#canaries.length > 0) this.#disarmOverlapping(toNumberAddr(s.addr), s.len);
      if (s.writable) w += s.len;
    }
    this.#state[head] = STAGED;
    this.#returned[head] = 0;
    this.#writable[head] = w;
    this.#lastChain[head] = [...segments];
    if (this.#checkReadable) this.#copies[head] = this.#copy(segments);
  }

  /** `head` became visible to the device (the `avail->idx` store covering it). */
  onPublish(head: number): void {
    this.#state[head] = AVAIL;
  }

  /**
   * The device returned `id` with `len`. Returns true when this was a correct return of an
   * available head (the driver then frees the chain); false otherwise, after recording why.
   */
  onUsed(id: number, len: number): boolean {
    if (!(id < this.#size)) {
      this.#record('bad-id', undefined, `used element id ${id} is not a descriptor index (queue size ${this.#size})`);
      return false;
    }
    const state = this.#state[id];
    if (state !== AVAIL) {
      if (state === STAGED) {
        this.#record('not-available', id, `head ${id} was used before the driver published it (avail->idx did not cover it)`);
      } else if (this.#returned[id] === 1) {
        this.#record('used-twice', id, `head ${id} was returned again after it had already been returned`);
      } else {
        this.#record('not-available', id, `head ${id} was used but never made available`);
      }
      return false;
    }
    if (len > this.#writable[id]) {
      this.#record('len-too-large', id, `used.len ${len} for head ${id} exceeds the chain's ${this.#writable[id]} writable bytes`);
    }
    if (this.#checkReadable) this.#compareCopies(id);
    this.#state[id] = FREE;
    this.#returned[id] = 1;
    this.#returnedCount++;
    return true;
  }

  /** The ring was reset: every head is free again (violations are kept, canaries dropped). */
  onReset(): void {
    this.#state.fill(FREE);
    this.#returned.fill(0);
    this.#copies.fill(undefined);
    this.#canaries = [];
  }

  // ---- canaries (VU-DP-020) ----------------------------------------------------------------

  /**
   * Fills the writable buffers of the chain last returned for `head` with a canary pattern and
   * remembers them; {@link recheckCanaries} later reports any changed byte. Call it right after
   * the chain came back. Adding a chain whose buffers overlap an armed canary checks and
   * disarms that canary first, so reusing the buffers is not reported. Throws unless `head`
   * was returned and not added again.
   */
  arm(head: number): void {
    if (!(head >= 0 && head < this.#size) || this.#state[head] !== FREE || this.#returned[head] !== 1) {
      throw new RangeError(`head ${head} is not a returned chain; only returned chains can be armed`);
    }
    const chain = this.#lastChain[head];
    const segs: readonly BufferSegment[] =
      chain ?? [{ addr: this.#lastAddr[head], len: this.#lastLen[head], writable: this.#lastWritable[head] === 1 }];
    for (const s of segs) {
      const addr = toNumberAddr(s.addr);
      if (!s.writable || s.len === 0 || addr < 0) continue;
      let bytes: Uint8Array;
      try {
        bytes = this.#mem.slice(addr, s.len);
      } catch {
        continue; // a buffer outside guest memory (deliberately bad chain): nothing to guard
      }
      for (let i = 0; i < bytes.length; i++) bytes[i] = canaryByte(i);
      this.#canaries.push({ head, addr, len: s.len });
    }
  }

  /**
   * Checks every armed canary; records a `write-after-return` violation (VU-DP-020) for each
   * changed buffer and disarms it. Returns how many were found changed.
   */
  recheckCanaries(): number {
    let found = 0;
    const keep: Canary[] = [];
    for (const c of this.#canaries) {
      if (this.#checkCanary(c)) keep.push(c);
      else found++;
    }
    this.#canaries = keep;
    return found;
  }

  /** Checks and then drops every armed canary. Returns how many were found changed. */
  disarmAll(): number {
    const found = this.recheckCanaries();
    this.#canaries = [];
    return found;
  }

  // ---- internals ---------------------------------------------------------------------------

  #checkCanary(c: Canary): boolean {
    let bytes: Uint8Array;
    try {
      bytes = this.#mem.slice(c.addr, c.len);
    } catch {
      return true; // region removed since: nothing to compare
    }
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== canaryByte(i)) {
        this.#record(
          'write-after-return',
          c.head,
          `buffer GPA 0x${c.addr.toString(16)} (${c.len} bytes) of head ${c.head} changed at offset ${i} after it was returned`,
        );
        return false;
      }
    }
    return true;
  }

  #disarmOverlapping(addr: number, len: number): void {
    const end = addr + Math.max(len, 1);
    const keep: Canary[] = [];
    for (const c of this.#canaries) {
      if (c.addr < end && addr < c.addr + c.len) this.#checkCanary(c);
      else keep.push(c);
    }
    this.#canaries = keep;
  }

  #copy(segments: readonly BufferSegment[]): Copy[] {
    const copies: Copy[] = [];
    for (const s of segments) {
      const addr = toNumberAddr(s.addr);
      if (s.writable || s.len === 0 || addr < 0) continue;
      try {
        copies.push({ addr, bytes: this.#mem.read(addr, s.len) });
      } catch {
        // Outside guest memory (a deliberately bad chain): the device must not touch it at all.
      }
    }
    return copies;
  }

  #compareCopies(id: number): void {
    const copies = this.#copies[id];
    this.#copies[id] = undefined;
    if (copies === undefined) return;
    for (const c of copies) {
      let now: Uint8Array;
      try {
        now = this.#mem.slice(c.addr, c.bytes.length);
      } catch {
        continue;
      }
      for (let i = 0; i < now.length; i++) {
        if (now[i] !== c.bytes[i]) {
          this.#record(
            'readable-modified',
            id,
            `device-readable buffer GPA 0x${c.addr.toString(16)} of head ${id} was written at offset ${i} (0x${c.bytes[i].toString(16)} → 0x${now[i].toString(16)})`,
          );
          break;
        }
      }
    }
  }

  #record(kind: LifetimeViolationKind, head: number | undefined, detail: string): void {
    if (this.#violations.length >= this.#max) {
      this.#dropped++;
      return;
    }
    const v: TrackedViolation = head === undefined ? { kind, rule: LifetimeRule[kind], detail } : { kind, rule: LifetimeRule[kind], head, detail };
    this.#violations.push(v);
  }
}
