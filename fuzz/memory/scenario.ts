/**
 * Memory-table fuzz scenarios (CHECKLIST VU-MEM-*, VU-DP-020): traffic bursts interleaved with
 * replacements of the buffer region — same GPAs, a new memfd at a new offset, contents copied —
 * sent as SET_MEM_TABLE or as REM_MEM_REG + ADD_MEM_REG when CONFIGURE_MEM_SLOTS is in force, and
 * extra regions added and removed around it. Plain data.
 * @module
 */
import fc from 'fast-check';
import { checkInt } from '../arbitraries/_internals/numbers.js';

/** One operation. */
export type MemoryOp =
  | { readonly kind: 'traffic'; readonly frames: number }
  /**
   * Replace the buffer region: new memfd, region at `offsetPages` pages into it; as a whole new
   * SET_MEM_TABLE, or (`via: 'rem-add'`, the default when CONFIGURE_MEM_SLOTS is in force) as
   * REM_MEM_REG + ADD_MEM_REG. A front-end may use either once the slots are negotiated, and a
   * back-end may get only one of them right.
   */
  | { readonly kind: 'replace'; readonly offsetPages: number; readonly via?: 'set-mem-table' | 'rem-add' }
  /** Add an extra region of `pages` pages at `gpaSlot` (a free GPA slot), then remove it after `holdOps` ops. */
  | { readonly kind: 'extra'; readonly gpaSlot: number; readonly pages: number };

/** A scenario. */
export interface MemoryScenario {
  readonly ops: readonly MemoryOp[];
  readonly finalFrames: number;
}

/** Options of {@link memoryScenario}. */
export interface MemoryScenarioConstraints {
  /** Most operations (default 8). */
  readonly maxOps?: number;
}

/** A memory scenario. */
export function memoryScenario(c: MemoryScenarioConstraints = {}): fc.Arbitrary<MemoryScenario> {
  const maxOps = c.maxOps ?? 8;
  checkInt('maxOps', maxOps, 1, 256);
  const op: fc.Arbitrary<MemoryOp> = fc.oneof(
    fc.record({ kind: fc.constant('traffic' as const), frames: fc.integer({ min: 1, max: 48 }) }),
    fc.record({ kind: fc.constant('replace' as const), offsetPages: fc.integer({ min: 0, max: 4 }), via: fc.constantFrom('rem-add' as const, 'set-mem-table' as const) }),
    fc.record({ kind: fc.constant('extra' as const), gpaSlot: fc.nat(7), pages: fc.integer({ min: 1, max: 16 }) }),
  );
  return fc.record({ ops: fc.array(op, { minLength: 1, maxLength: maxOps }), finalFrames: fc.integer({ min: 8, max: 48 }) });
}

/** Short human form of an operation. */
export function describeOp(op: MemoryOp): string {
  switch (op.kind) {
    case 'traffic': return `${op.frames} frames`;
    case 'replace': return `replace the buffer region (new memfd, offset ${op.offsetPages} pages, contents copied${op.via === 'set-mem-table' ? ', whole SET_MEM_TABLE' : ''})`;
    case 'extra': return `add and remove an extra region of ${op.pages} pages in slot ${op.gpaSlot}`;
  }
}
