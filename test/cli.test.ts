/**
 * The `vhostlab` command end to end (built CLI): help, usage errors and exit codes that scripts
 * rely on (DESIGN.md: 2 bad usage, 3 peer unreachable).
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../bin/vhostlab.cjs', import.meta.url).pathname;
const vhostlab = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('vhostlab CLI', () => {
  it('lists its commands in --help', () => {
    const r = vhostlab('--help');
    expect(r.status).toBe(0);
    for (const c of ['probe', 'traffic', 'backend', 'report']) expect(r.stdout).toContain(c);
  });

  it('explains a command with an example in its --help', () => {
    const r = vhostlab('traffic', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--packets/);
    expect(r.stdout).toMatch(/Example:/);
  });

  it('exits 2 on an unknown option or a bad number', () => {
    expect(vhostlab('probe', '--socket', '/x', '--bogus').status).toBe(2);
    const r = vhostlab('traffic', '--socket', '/x', '--packets', 'many');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/whole number/);
  });

  it('exits 3 with a clear message when no back-end listens', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vhostlab-cli-'));
    try {
      const r = vhostlab('probe', '--socket', join(dir, 'none.sock'), '--timeout', '200');
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(/cannot reach a back-end on .*none\.sock/);
      expect(r.stdout).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to listen over a file that is not a socket', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vhostlab-cli-'));
    try {
      const path = join(dir, 'precious.txt');
      writeFileSync(path, 'keep me');
      const r = vhostlab('probe', '--listen', '--socket', path, '--timeout', '200');
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/not a socket/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks traffic options before it connects: exit 2, not 3', () => {
    for (const bad of [['--size', '5000'], ['--size', '10'], ['--queue-size', '300'], ['--queues', '500'], ['--in-order']]) {
      const r = vhostlab('traffic', '--socket', '/nonexistent/vhost.sock', '--timeout', '200', ...bad);
      expect(r.status, `${bad.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(new RegExp(bad[0]));
    }
  });

  it('exits 1 when the back-end is reached but refuses the device bring-up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vhostlab-cli-'));
    const sock = join(dir, 'vu.sock');
    const be = spawn(process.execPath, [cli, 'backend', '--socket', sock, '--fault', 'nack-everything'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
      expect(existsSync(sock), 'the back-end created its socket').toBe(true);
      const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, [cli, 'traffic', '--socket', sock, '--packets', '10', '--timeout', '5000']);
        let stderr = '';
        p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        p.on('close', (status) => resolve({ status, stderr }));
      });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/vhostlab: /);
    } finally {
      be.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
