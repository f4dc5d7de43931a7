/**
 * What `npm run bench` writes: a `vhostlab.result/v1` document with no cases and the measured
 * figures as `benchmarks`, so `vhostlab report` draws them and `vhostlab report diff` compares
 * two bench runs with the same tools as conformance runs. The run's own facts (`quick`, the
 * modules that failed) ride along as extra top-level keys, which the schema allows.
 * @module
 */
import { platformInfo, toolVersion } from '../conformance/runner/document.js';
import { benchmarkGoals } from '../reports/benchmarks.js';
import { RESULT_SCHEMA, summarize, type ResultDocument } from '../reports/model.js';
import type { BenchResult } from './types.js';

/** A benchmark module that threw, and why. */
export type BenchError = { module: string; error: string };

/** The bench run's document. */
export type BenchDocument = ResultDocument & { finishedAt: string; quick: boolean; errors: BenchError[] };

/** Builds the document of a bench run. */
export function benchDocument(run: { startedAt: Date; finishedAt: Date; quick: boolean; results: BenchResult[]; errors: BenchError[] }): BenchDocument {
  return {
    schema: RESULT_SCHEMA,
    tool: { name: 'vhostlab', version: toolVersion() },
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    durationMs: run.finishedAt.getTime() - run.startedAt.getTime(),
    // The peers differ per figure (DPDK's vhost back-end, its virtio-user front-end, libFuzzer):
    // each figure's params name them, so the document-level peer stays empty.
    backend: {},
    platform: platformInfo(),
    cases: [],
    benchmarks: run.results,
    summary: summarize([]),
    quick: run.quick,
    errors: run.errors,
  };
}

/** One line per figure that carries a goal (`params.goal`): the value, the goal and whether it is met. */
export function goalLines(results: readonly BenchResult[]): string[] {
  return benchmarkGoals(results).map((g) => {
    const bound = g.lowerBound ? ' (a lower bound: a baseline run hit its time cap)' : '';
    return `${g.met ? 'met    ' : 'NOT MET'}  ${g.name} ${g.where}: ${g.value} ${g.unit}, goal >= ${g.goal}${bound}`;
  });
}
