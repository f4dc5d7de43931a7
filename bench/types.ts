/** Shared types of the benchmark modules (`npm run bench`). */

import type { BenchmarkResult } from '../reports/model.js';

/**
 * One measured figure: a `benchmarks[]` entry of the result document. `params` identify it
 * (what `report diff` matches on); per-run facts such as execution counts go in `details`.
 */
export type BenchResult = BenchmarkResult;

/** Options every benchmark module receives. */
export interface BenchContext {
  /** Scratch folder for sockets and logs (removed afterwards). */
  dir: string;
  /** Whether to run shorter measurements (CI smoke runs). */
  quick: boolean;
  /** Progress lines go here (stderr). */
  log: (line: string) => void;
}
