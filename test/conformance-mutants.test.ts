/**
 * The suite tests itself (issue 4 item 5, STYLE §28): for every `--fault` of the reference
 * back-end, the run against `vhostlab backend --fault NAME` must fail, every failing case must be
 * one the fault's registry entry names in `caughtBy`, and no other case may fail (a correct
 * behaviour is never blamed). Faults no case catches yet carry `uncaught` and an empty
 * `caughtBy`: their run must then blame nothing, so the test stays green for a known gap and turns
 * red only when a listed case stops catching its fault (or an unlisted one starts failing).
 *
 * Each run covers the fault's `caughtBy` cases plus a fixed sample of every other area; set
 * VHOSTLAB_MUTANTS_FULL=1 to run the whole suite per fault instead (about 15 s per fault).
 * Runs the real CLI, so `npm test`'s pretest build must have happened.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FAULTS } from '../fakes/backend/faults/registry.js';
import type { FaultDefinition } from '../fakes/backend/faults/fault.js';

const run = promisify(execFile);
const cli = new URL('../bin/vhostlab.cjs', import.meta.url).pathname;
const FULL = process.env.VHOSTLAB_MUTANTS_FULL === '1';

/** One case of each area that no fault should break: the "correct behaviour not blamed" sample. */
const SAMPLE = [
  'session/start/', 'features/get-features/', 'protocol-features/offered/', 'framing/reply-header/',
  'framing/stream/', 'backend/memory/translation-offset-and-qva', 'backend/ring-states/starts-stopped-without-kick',
  'backend/vring-fd/kick-nofd-means-polling', 'backend/multiqueue/', 'backend/data-path/', 'backend/lifetimes/no-write-after-return',
  'backend/notifications/signals-when-flags-zero', 'backend/reconnect/', 'backend/robustness/rapid-connect-disconnect',
];

interface CaseRow { id: string; status: string; detail: string }

/** Runs the suite against the reference back-end with `fault` on; the cases' results. */
async function runMutant(fault: FaultDefinition): Promise<{ code: number; cases: CaseRow[]; stderr: string }> {
  const mode = fault.mode ?? 'server';
  // Two queue pairs so the multiqueue cases run instead of skipping.
  const backend = `${process.execPath} ${cli} backend --socket {socket} --queues 2 --fault ${fault.name}${mode === 'client' ? ' --client' : ''}`;
  // Synthetic results (`profile/…`) come with every run and cannot be selected.
  const only = (fault.selfTestOnly ?? (FULL ? [] : [...fault.caughtBy, ...SAMPLE])).filter((p) => !p.startsWith('profile/'));
  const args = [cli, 'conformance', '--backend', backend, '--mode', mode, '--type', 'net', '--strict', '--json', ...only.flatMap((p) => ['--only', p])];
  try {
    const { stdout, stderr } = await run(process.execPath, args, { timeout: 280_000, maxBuffer: 64 << 20 });
    return { code: 0, cases: (JSON.parse(stdout) as { cases: CaseRow[] }).cases, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    const cases = e.stdout ? (JSON.parse(e.stdout) as { cases: CaseRow[] }).cases : [];
    return { code: typeof e.code === 'number' ? e.code : -1, cases, stderr: e.stderr ?? '' };
  }
}

const claims = (fault: FaultDefinition, id: string): boolean => [...fault.caughtBy, ...(fault.mayAlsoCatch ?? [])].some((p) => id.startsWith(p));

describe('every fault of the reference back-end is caught by its cases and only by them', () => {
  it('the registry is consistent: a fault is either caught by named cases or says why not', () => {
    for (const f of FAULTS) {
      expect(f.caughtBy.length === 0, f.name).toBe(f.uncaught !== undefined);
    }
  });

  for (const fault of FAULTS) {
    it(`${fault.name}${fault.uncaught ? ' (no case catches it yet)' : ''}`, async () => {
      const r = await runMutant(fault);
      const failing = r.cases.filter((c) => c.status === 'fail' || c.status === 'error');
      const tail = r.stderr.slice(-3000);
      // The run completed: a run that could not start proves nothing either way.
      expect(r.code === 0 || r.code === 1, `exit ${r.code}\n${tail}`).toBe(true);
      expect(r.cases.length, tail).toBeGreaterThan(0);
      // No unrelated case fails: a failure outside caughtBy blames behaviour the fault does not break.
      const unrelated = failing.filter((c) => !claims(fault, c.id)).map((c) => `${c.id}: ${c.detail.split('\n').pop()}`);
      expect(unrelated, `cases outside caughtBy [${fault.caughtBy.join(', ')}] failed`).toEqual([]);
      if (fault.uncaught !== undefined) {
        expect(r.code).toBe(0);
        return;
      }
      // Every caughtBy prefix that was run has at least one failing case: no stale claim.
      const ran = r.cases.filter((c) => c.status !== 'skip').map((c) => c.id);
      const missed = fault.caughtBy.filter((p) => ran.some((id) => id.startsWith(p)) && !failing.some((c) => c.id.startsWith(p)));
      expect(missed, 'caughtBy prefixes whose cases all passed (the claim is stale)').toEqual([]);
      expect(failing.length).toBeGreaterThan(0);
      expect(r.code).toBe(1);
    }, 300_000);
  }
});
