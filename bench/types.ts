/** Shared types of the benchmark modules (`npm run bench`). */

/** One measured figure; the same shape as a `benchmarks[]` entry of the result document. */
export interface BenchResult {
  name: string;
  unit: string;
  value: number;
  params: Record<string, unknown>;
}

/** Options every benchmark module receives. */
export interface BenchContext {
  /** Scratch folder for sockets and logs (removed afterwards). */
  dir: string;
  /** Whether to run shorter measurements (CI smoke runs). */
  quick: boolean;
  /** Progress lines go here (stderr). */
  log: (line: string) => void;
}
