/**
 * Replays an `ffi` reproducer: runs its exact bytes once in a fresh worker and compares the way
 * the worker ends with the recorded failure. Also checks that the recorded fast-check `seed` +
 * `path` still regenerate the same bytes through the input arbitrary (they stop doing so when a
 * generator changes; the bytes stay authoritative).
 * @module
 */
import fc from 'fast-check';
import type { Repro, ReproFailure } from '../replay/repro.js';
import { reproBytes } from '../replay/repro.js';
import { TargetChild } from './child.js';
import { classifyEnd } from './failure.js';
import { inputSpaceFromParams } from './inputs.js';
import { childOptionsFor } from './runner.js';

/** Options of {@link replayFfi}. */
export interface FfiReplayOptions {
  /** Library to run instead of the recorded `target` (e.g. a rebuilt or relocated one). */
  readonly target?: string;
  /** Force ASan mode on or off (default: detected from the library). */
  readonly asan?: boolean;
  /** ASan runtime to preload. */
  readonly asanRuntime?: string;
  /** Hang time-out (default 5000 ms). */
  readonly hangTimeoutMs?: number;
}

/** Outcome of a replay. */
export interface FfiReplayResult {
  /** The library that ran. */
  readonly target: string;
  /** True when the input made the target fail. */
  readonly reproduced: boolean;
  /** True when it failed the same way (same summary) as recorded. */
  readonly sameFailure: boolean;
  /** The failure seen now, if any. */
  readonly failure?: ReproFailure;
  /**
   * Whether `seed` + `path` regenerate the recorded bytes: undefined when the reproducer has no
   * path (corpus findings) or no generator params.
   */
  readonly regenerates?: boolean;
}

/** Regenerates a reproducer's input from seed + path + params, or undefined when it cannot. */
export async function regenerateInput(repro: Repro): Promise<Uint8Array | undefined> {
  if (repro.path === '' || typeof repro.params.mode !== 'string') return undefined;
  const space = inputSpaceFromParams(repro.params);
  let value: Uint8Array | undefined;
  // The replayed path is walked without evaluating intermediate values: the first call sees the
  // recorded counterexample. Failing it ends the walk; later shrink calls pass.
  await fc.check(
    fc.property(space.arbitrary, (x) => {
      if (value !== undefined) return true;
      value = x;
      return false;
    }),
    { seed: repro.seed, path: repro.path, numRuns: 1, ...(space.randomType ? { randomType: space.randomType } : {}) },
  );
  return value;
}

/** Replays `repro` (kind `ffi`). Throws FfiTargetLoadError when the library cannot be loaded. */
export async function replayFfi(repro: Repro, opts: FfiReplayOptions = {}): Promise<FfiReplayResult> {
  const target = opts.target ?? repro.target;
  const input = reproBytes(repro);
  const child = await TargetChild.start(childOptionsFor({ target, ...(opts.asan !== undefined ? { asan: opts.asan } : {}), ...(opts.asanRuntime ? { asanRuntime: opts.asanRuntime } : {}) }));
  let failure: ReproFailure | undefined;
  try {
    const v = await child.submit([input], opts.hangTimeoutMs ?? 5_000);
    if (v.status === 'failed') failure = classifyEnd(v.end).failure;
  } finally {
    await child.close();
  }
  const regenerated = await regenerateInput(repro).catch(() => undefined);
  const regenerates = regenerated === undefined ? undefined : Buffer.from(regenerated).equals(Buffer.from(input));
  return {
    target,
    reproduced: failure !== undefined,
    sameFailure: failure !== undefined && failure.summary === repro.failure.summary,
    ...(failure ? { failure } : {}),
    ...(regenerates !== undefined ? { regenerates } : {}),
  };
}
