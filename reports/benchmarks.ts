/**
 * Benchmark helpers shared by the writers and the diff: identity of a measurement across runs,
 * which direction is better, and pairing of implementations (vhostlab vs DPDK) measured under
 * the same conditions so they can be drawn side by side.
 * @module
 */
import type { BenchmarkParam, BenchmarkResult } from './model.js';

/** The parameter that names the implementation measured; it becomes the series of a chart. */
export const IMPL_PARAM = 'impl';

/** Parameters as `k=v, k=v` in key order (stable whatever order the producer used). */
export function formatParams(params: Record<string, BenchmarkParam>, omit: readonly string[] = []): string {
  return Object.keys(params)
    .filter((k) => !omit.includes(k))
    .sort()
    .map((k) => `${k}=${String(params[k])}`)
    .join(', ');
}

/** Identity of a measurement across runs: name, unit and every parameter. */
export function benchmarkKey(b: BenchmarkResult): string {
  return `${b.name} [${formatParams(b.params)}] ${b.unit}`;
}

// Units where a smaller number is the better result: times, cycles, sizes. Everything else
// (pps, Mpps, Gbit/s, ops/s, …) is a rate, where bigger is better.
const LOWER_IS_BETTER = /^(ps|ns|us|µs|ms|s|sec|min|cycles?(\/\w+)?|[KMG]?i?B|bytes?)$/i;

/** True when a larger value is the better result (rates), false for times, cycles and sizes. */
export function higherIsBetter(b: Pick<BenchmarkResult, 'unit' | 'better'>): boolean {
  if (b.better !== undefined) return b.better === 'higher';
  return !LOWER_IS_BETTER.test(b.unit.trim());
}

/** One chart: measurements of one unit, grouped by condition, one series per implementation. */
export type BenchmarkChart = {
  /** The unit shared by every value. */
  unit: string;
  /** Implementations, `vhostlab` first; `[""]` when no measurement names one. */
  series: string[];
  /** One group per condition (name plus parameters other than `impl`). */
  groups: { label: string; values: (number | null)[] }[];
};

/** Groups benchmarks into charts, one per unit, pairing implementations measured alike. */
export function benchmarkCharts(list: readonly BenchmarkResult[]): BenchmarkChart[] {
  const byUnit = new Map<string, BenchmarkResult[]>();
  for (const b of list) {
    const l = byUnit.get(b.unit) ?? [];
    if (l.length === 0) byUnit.set(b.unit, l);
    l.push(b);
  }
  const charts: BenchmarkChart[] = [];
  for (const [unit, items] of byUnit) {
    const series = [...new Set(items.map((b) => String(b.params[IMPL_PARAM] ?? '')))].sort((a, b) =>
      a === 'vhostlab' ? -1 : b === 'vhostlab' ? 1 : 0,
    );
    const groups = new Map<string, (number | null)[]>();
    for (const b of items) {
      const rest = formatParams(b.params, [IMPL_PARAM]);
      const label = rest === '' ? b.name : `${b.name} (${rest})`;
      const values = groups.get(label) ?? series.map(() => null);
      groups.set(label, values);
      values[series.indexOf(String(b.params[IMPL_PARAM] ?? ''))] = b.value;
    }
    charts.push({ unit, series, groups: [...groups].map(([label, values]) => ({ label, values })) });
  }
  return charts;
}

/** A figure that carries a goal (`params.goal`, a lower bound: ratios, speed-ups). */
export type BenchmarkGoal = {
  name: string;
  unit: string;
  value: number;
  goal: number;
  met: boolean;
  /** The conditions other than the goal, as `k=v, k=v`. */
  where: string;
  /** True when the figure is only a lower bound (a baseline run hit its time cap). */
  lowerBound: boolean;
};

/** The figures of `list` that carry a goal, with whether each is met. */
export function benchmarkGoals(list: readonly BenchmarkResult[]): BenchmarkGoal[] {
  return list.flatMap((b) => {
    const goal = b.params.goal;
    if (typeof goal !== 'number') return [];
    const met = higherIsBetter(b) ? b.value >= goal : b.value <= goal;
    return [{ name: b.name, unit: b.unit, value: b.value, goal, met, where: formatParams(b.params, ['goal']), lowerBound: b.details?.lowerBound === true }];
  });
}
