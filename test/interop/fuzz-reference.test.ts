/**
 * The live fuzzers against the reference back-end as a real process (`vhostlab backend`, started
 * from the shipped profiles): short bounded runs must find nothing, in server and client mode.
 * When the back-end offers fault injection (`vhostlab backend --list-faults` succeeds), the
 * fuzzers must find its crash, hang and state-loss faults too; until then those cases are not
 * registered (a message says so).
 * @module
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/vhostlab.cjs');

function vhostlab(args: string[], timeoutMs = 150_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('live fuzzers against the reference back-end', () => {
  it('fuzz protocol finds nothing in a short run (server mode)', () => {
    const out = mkdtempSync(join(tmpdir(), 'vhl-fz-'));
    try {
      const r = vhostlab(['fuzz', 'protocol', '--profile', 'reference', '--seed', '1', '--runs', '60', '--out', out, '--json']);
      expect(r.status, r.stderr + r.stdout).toBe(0);
      const doc = JSON.parse(r.stdout) as { found: boolean; searchExecs: number; execsPerSec: number };
      expect(doc.found).toBe(false);
      expect(doc.searchExecs).toBe(60);
      expect(doc.execsPerSec).toBeGreaterThan(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('fuzz reconnect finds nothing in a short run, in server and in client mode', () => {
    const out = mkdtempSync(join(tmpdir(), 'vhl-fz-'));
    try {
      for (const profile of ['reference', 'reference-client']) {
        const r = vhostlab(['fuzz', 'reconnect', '--profile', profile, '--seed', '1', '--runs', '12', '--out', out, '--json']);
        expect(r.status, `${profile}: ${r.stderr}${r.stdout}`).toBe(0);
        expect((JSON.parse(r.stdout) as { found: boolean }).found).toBe(false);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('fuzz memory finds nothing in a short run', () => {
    const out = mkdtempSync(join(tmpdir(), 'vhl-fz-'));
    try {
      const r = vhostlab(['fuzz', 'memory', '--profile', 'reference', '--seed', '1', '--runs', '20', '--out', out, '--json']);
      expect(r.status, r.stderr + r.stdout).toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('fuzz datapath finds nothing in a short run', () => {
    const out = mkdtempSync(join(tmpdir(), 'vhl-fz-'));
    try {
      const r = vhostlab(['fuzz', 'datapath', '--profile', 'reference', '--seed', '1', '--runs', '40', '--out', out, '--json']);
      expect(r.status, r.stderr + r.stdout).toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('an unreachable back-end is exit code 3, bad usage exit code 2', () => {
    expect(vhostlab(['fuzz', 'protocol', '--backend', '/nonexistent/backend {socket}', '--mode', 'server', '--runs', '1']).status).toBe(3);
    expect(vhostlab(['fuzz', 'protocol', '--runs', '1']).status).toBe(2);
  });

  const list = vhostlab(['backend', '--list-faults'], 20_000);
  if (list.status !== 0) {
    process.stderr.write('fuzz-reference: `vhostlab backend --list-faults` is not available; the planted-fault cases are not registered\n');
  } else {
    const names = list.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((w) => w !== undefined && w !== '');
    // fault → fuzzer, peer mode, finding kinds that count.
    const cases: [string, string, 'server' | 'client', string[]][] = [
      ['crash-on-unknown-region', 'protocol', 'server', ['crash']],
      ['hang-on-oversize', 'protocol', 'server', ['hang']],
      ['lose-ring-state-on-reconnect', 'reconnect', 'server', ['state-loss', 'liveness']],
      ['no-reconnect', 'reconnect', 'client', ['hang', 'state-loss', 'crash']],
      // Reached only by a whole SET_MEM_TABLE: the fault leaves REM/ADD_MEM_REG alone.
      ['stale-memory-table', 'memory', 'server', ['corruption']],
      // Descriptors outside memory, and writes into device-readable buffers, on the data path.
      ['crash-on-unknown-region', 'datapath', 'server', ['crash']],
      ['write-readable', 'datapath', 'server', ['corruption']],
    ];
    for (const [name, fuzzer, mode, kinds] of cases) {
      if (!names.includes(name)) continue;
      it(`fuzz ${fuzzer} finds the back-end's ${name} fault and the reproducer replays`, () => {
        const out = mkdtempSync(join(tmpdir(), 'vhl-fz-'));
        try {
          const cmd = `{node} {package}/bin/vhostlab.cjs backend --socket {socket}${mode === 'client' ? ' --client' : ''} --fault ${name}`;
          const r = vhostlab(['fuzz', fuzzer, '--backend', cmd, '--mode', mode, '--seed', '1', '--runs', '100', '--shrink-time', '10', '--out', out, '--json'], 170_000);
          expect(r.status, r.stderr + r.stdout).toBe(1);
          const doc = JSON.parse(r.stdout) as { finding: { kind: string; reproducer: string } };
          expect(kinds).toContain(doc.finding.kind);
          expect(vhostlab(['fuzz', '--replay', doc.finding.reproducer]).status).toBe(1);
        } finally {
          rmSync(out, { recursive: true, force: true });
        }
      });
    }
  }
});
