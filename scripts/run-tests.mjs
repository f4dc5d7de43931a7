// Type-checks everything (tests included), runs the unit project, then the interop project (real DPDK/QEMU peers, one file at a time so
// the busy-polling peers never share the two cores), and prints one plain closing line
// "tests: N passed, N failed, N skipped" that CI reads.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const extra = process.argv.slice(2);
// One fast-check seed for both projects (vitest.setup.ts reads it); printed so a failure replays.
process.env.VHOSTLAB_SEED ??= String(process.env.CI ? 20261125 : Date.now() % 2 ** 31);
console.log(`property tests use VHOSTLAB_SEED=${process.env.VHOSTLAB_SEED}`);
const dir = mkdtempSync(join(tmpdir(), 'vhostlab-tests-'));
let passed = 0, failed = 0, skipped = 0, worst = 0;
// vitest strips types without checking them: type-check sources and tests first (one failure).
const typecheck = spawnSync('npm', ['run', '-s', 'typecheck'], { stdio: 'inherit' });
if (typecheck.status !== 0) { failed += 1; worst = 1; process.stderr.write('type check failed\n'); }
for (const project of ['unit', 'interop']) {
  const out = join(dir, `${project}.json`);
  const r = spawnSync('npx', ['vitest', 'run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, '--passWithNoTests', ...extra], { stdio: 'inherit' });
  worst = Math.max(worst, r.status ?? 1);
  try {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    passed += j.numPassedTests; failed += j.numFailedTests; skipped += j.numPendingTests + (j.numTodoTests ?? 0);
  } catch { failed += 1; process.stderr.write(`no results from the ${project} project\n`); }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(worst === 0 && failed === 0 ? 0 : 1);
