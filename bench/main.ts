/**
 * `npm run bench`: runs the benchmark modules one after another (never side by side: a DPDK peer
 * busy-polls a whole core and there are two), prints a table with ratios and the goals they
 * meet or miss, and writes `bench-results/bench-<time>.json` and `bench-results/latest.json`
 * (`vhostlab.result/v1` documents: `vhostlab report` renders them, `vhostlab report diff`
 * compares two). On a terminal a live line shows the module running and the time taken.
 *
 * Options: `--quick` for short runs, `--only NAME[,NAME]` to pick modules, `--out DIR`.
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createProgress } from '../reports/progress.js';
import { benchDocument, goalLines, type BenchError } from './document.js';
import { benchTraffic } from './traffic.js';
import type { BenchContext, BenchResult } from './types.js';

type Module = (ctx: BenchContext) => Promise<BenchResult[]>;

/** Benchmark modules by name, in the order they run. */
const modules: Record<string, () => Promise<Module>> = {
  traffic: async () => benchTraffic,
  'fuzz-ffi': async () => (await import('./fuzz-ffi.js')).benchFuzzFfi as Module,
  backend: async () => (await import('./backend.js')).benchBackend,
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: 'bench-results' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(`usage: npm run bench -- [--quick] [--only ${Object.keys(modules).join(',')}] [--out DIR]\n`);
  process.exit(0);
}
const selected = values.only ? values.only.split(',') : Object.keys(modules);
for (const name of selected) {
  if (!(name in modules)) {
    process.stderr.write(`bench: unknown module '${name}' (have: ${Object.keys(modules).join(', ')})\n`);
    process.exit(2);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'vhostlab-bench-'));
const progress = createProgress(process.stderr, { label: 'bench', total: selected.length, unit: 'modules' });
const log = (line: string) => progress.log(line);
const results: BenchResult[] = [];
const errors: BenchError[] = [];
const startedAt = new Date();
try {
  for (const [i, name] of selected.entries()) {
    progress.update({ current: name, done: i });
    log(`bench: ${name}…`);
    try {
      const mod = await modules[name]();
      results.push(...(await mod({ dir, quick: values.quick ?? false, log })));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      errors.push({ module: name, error: msg });
      log(`bench: ${name} failed: ${msg}`);
    }
  }
  progress.done(`bench: ${selected.length} module(s), ${results.length} figures, ${errors.length} failed`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const outDir = resolve(values.out ?? 'bench-results');
mkdirSync(outDir, { recursive: true });
const doc = benchDocument({ startedAt, finishedAt: new Date(), quick: values.quick ?? false, results, errors });
const stamp = doc.startedAt.replace(/[:.]/g, '-');
writeFileSync(join(outDir, `bench-${stamp}.json`), `${JSON.stringify(doc, null, 2)}\n`);
writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(doc, null, 2)}\n`);

const rows = results.map((r) => `${r.name.padEnd(28)} ${fmt(r.value).padStart(14)} ${r.unit.padEnd(8)} ${JSON.stringify(r.params)}`);
const goals = goalLines(results);
process.stdout.write(`${rows.join('\n')}\n${goals.length > 0 ? `\nGoals:\n${goals.map((g) => `  ${g}`).join('\n')}\n` : ''}\nwrote ${join(outDir, 'latest.json')}\n`);
process.exitCode = errors.length > 0 ? 1 : 0;

function fmt(v: number): string {
  return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : String(v);
}
