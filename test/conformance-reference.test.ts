/**
 * The suite against the built-in reference back-end (`npm start`): every case passes or is
 * skipped for a stated reason, with --strict (SHOULD cases count too), in both socket modes.
 * Runs the real CLI, so `npm test`'s pretest build must have happened.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = new URL('../bin/vhostlab.cjs', import.meta.url).pathname;

async function conformance(args: string[]): Promise<{ code: number; doc: { cases: { id: string; status: string; detail: string }[] }; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, 'conformance', ...args, '--json'], { timeout: 120_000, maxBuffer: 64 << 20 });
    return { code: 0, doc: JSON.parse(stdout), stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, doc: e.stdout ? JSON.parse(e.stdout) : { cases: [] }, stderr: e.stderr ?? '' };
  }
}

describe('conformance against the reference back-end', () => {
  for (const profile of ['reference', 'reference-client']) {
    it(`${profile}: every case passes with --strict`, async () => {
      const r = await conformance(['--profile', profile, '--strict']);
      const bad = r.doc.cases.filter((c) => c.status !== 'pass' && c.status !== 'skip');
      expect(bad.map((c) => `${c.id}: ${c.status}: ${c.detail}`), r.stderr).toEqual([]);
      expect(r.code).toBe(0);
      expect(r.doc.cases.length).toBeGreaterThan(30);
    }, 150_000);
  }
});
