import { Command } from 'commander';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarize, type ResultDocument } from '../../reports/index.js';
import { fixture } from '../../reports/__test-helpers__/fixture.js';
import { UsageError } from '../exit.js';
import { registerReport } from './report.js';

const dir = mkdtempSync(join(tmpdir(), 'vhl-cli-report-'));
function save(name: string, doc: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return p;
}
function clean(): ResultDocument {
  const doc = fixture();
  for (const c of doc.cases) if (c.status === 'fail' || c.status === 'error') c.status = 'pass';
  doc.summary = summarize(doc.cases);
  return doc;
}

/** Runs `vhostlab ARGS` with only `report` registered, as cli/main.ts wires it. */
async function run(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number; error?: unknown }> {
  const r = { stdout: '', stderr: '', exitCode: 0, error: undefined as unknown };
  const program = new Command().name('vhostlab').exitOverride().configureOutput({ writeOut: (s) => (r.stdout += s), writeErr: (s) => (r.stderr += s) });
  registerReport(program, { stdout: (s) => (r.stdout += s), stderr: (s) => (r.stderr += s), setExitCode: (c) => (r.exitCode = c) });
  try {
    await program.parseAsync(['node', 'vhostlab', ...args]);
  } catch (err) {
    r.error = err;
  }
  return r;
}

describe('vhostlab report', () => {
  const faulty = save('faulty.json', fixture());
  const good = save('clean.json', clean());

  it('prints the Markdown summary when no output is asked for', async () => {
    const r = await run('report', faulty);
    expect(r.error).toBeUndefined();
    expect(r.stdout.split('\n')[0]).toBe('## ❌ vhostlab: 3 failed, 1 error (11 cases; 1 waived, 1 skipped)');
  });

  it('writes every format, merging several files', async () => {
    const out = join(dir, 'out', 'nested');
    const files = { html: join(out, 'r.html'), junit: join(out, 'j.xml'), markdown: join(out, 'm.md'), tap: join(out, 't.tap'), json: join(out, 'all.json') };
    const r = await run('report', faulty, good, ...Object.entries(files).flatMap(([k, f]) => [`--${k}`, f]));
    expect(r.error).toBeUndefined();
    expect(r.stdout).toBe('');
    for (const f of Object.values(files)) expect(existsSync(f)).toBe(true);
    expect(r.stderr).toContain(`wrote JUnit XML to ${files.junit}`);
    expect(readFileSync(files.junit, 'utf8')).toContain('<testsuite name="dpdk-testpmd #2: header"');
    expect(JSON.parse(readFileSync(files.json, 'utf8'))).toHaveLength(2);
    expect(readFileSync(files.html, 'utf8')).toContain('<canvas id="chart-areas"');
  });

  it('names a missing, corrupt or invalid file and the problem (exit 2 through UsageError)', async () => {
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.json'), /missing\.json: cannot read \(no such file\)/],
      [save('corrupt.json', '{"schema": "vhostlab.res'), /corrupt\.json: not valid JSON/],
      [save('invalid.json', { ...fixture(), cases: [{ id: 'x' }] }), /invalid\.json: not a vhostlab\.result\/v1 document: \/cases\/0: must have required property 'title'/],
    ];
    for (const [file, message] of cases) {
      const r = await run('report', faulty, file, '--html', join(dir, 'never.html'));
      expect(r.error).toBeInstanceOf(UsageError);
      expect((r.error as Error).message).toMatch(message);
    }
    expect(existsSync(join(dir, 'never.html'))).toBe(false);
  });

  it('explains itself in --help', async () => {
    const r = await run('report', '--help');
    expect(r.stdout).toContain('Usage: vhostlab report [options] [command] <results...>');
    expect(r.stdout).toContain('--junit <file>');
    expect(r.stdout).toContain('report diff baseline.json candidate.json');
  });
});

describe('vhostlab report diff', () => {
  const faulty = save('d-faulty.json', fixture());
  const good = save('d-clean.json', clean());

  it('exits 1 and names exactly the regressed cases', async () => {
    const r = await run('report', 'diff', good, faulty);
    expect(r.error).toBeUndefined();
    expect(r.exitCode).toBe(1);
    const listed = r.stdout.split('Fixed')[0].split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim().split(/\s+/)[0]);
    expect(listed).toEqual(['backend/header/oversized-size', 'backend/reply-ack/nack-on-handler-failure', 'backend/reply-ack/exactly-one-reply', 'backend/ring/used-idx-bound']);
    expect(r.stdout).toMatch(/Verdict: REGRESSION\n$/);
  });

  it('exits 0 for fixes, and --json prints one document', async () => {
    const r = await run('report', 'diff', faulty, good, '--json');
    expect(r.exitCode).toBe(0);
    const doc = JSON.parse(r.stdout) as { fixes: unknown[]; regression: boolean };
    expect(doc.fixes).toHaveLength(4);
    expect(doc.regression).toBe(false);
  });

  it('takes a noise threshold in percent and rejects a bad one', async () => {
    const slow = fixture();
    slow.benchmarks[0].value *= 0.8;
    const f = save('slow.json', slow);
    expect((await run('report', 'diff', faulty, f)).exitCode).toBe(1);
    expect((await run('report', 'diff', faulty, f, '--threshold', '25')).exitCode).toBe(0);
    expect((await run('report', 'diff', faulty, f, '--threshold', 'lots')).error).toBeInstanceOf(UsageError);
  });

  it('refuses a file holding several runs', async () => {
    const both = save('both.json', [fixture(), clean()]);
    const r = await run('report', 'diff', both, good);
    expect((r.error as Error).message).toMatch(/both\.json holds 2 runs/);
  });
});
