import { Command } from 'commander';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureTargets, target } from '../../fuzz/ffi/__test-helpers__/targets.js';
import { writeRepro } from '../../fuzz/replay/repro.js';
import { UsageError } from '../exit.js';
import { registerFuzz } from './fuzz.js';

beforeAll(ensureTargets, 60_000);
const dir = mkdtempSync(join(tmpdir(), 'vhl-cli-fuzz-'));

/** Runs `vhostlab ARGS` with only `fuzz` registered, as cli/main.ts wires it. */
async function run(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number; error?: unknown }> {
  const r = { stdout: '', stderr: '', exitCode: 0, error: undefined as unknown };
  const program = new Command().name('vhostlab').exitOverride().configureOutput({ writeOut: (s) => (r.stdout += s), writeErr: (s) => (r.stderr += s) });
  registerFuzz(program, { stdout: (s) => (r.stdout += s), stderr: (s) => (r.stderr += s), setExitCode: (c) => (r.exitCode = c) });
  try {
    await program.parseAsync(['node', 'vhostlab', ...args]);
  } catch (err) {
    r.error = err;
  }
  return r;
}

describe('vhostlab fuzz ffi', () => {
  it('--known: the reproducer of a found crash makes the same search pass over it; a bad --known is a usage error first', async () => {
    const out = join(dir, 'known-ffi');
    const lib = target('libvu_parser-asan.so');
    const first = await run('fuzz', 'ffi', '--target', lib, '--seed', '1', '--runs', '3000', '--no-shrink', '--out', out);
    expect(first.exitCode).toBe(1);
    expect(first.stdout).toMatch(/crash found: AddressSanitizer: SEGV in vring_start/);
    const repro = /reproducer: (\S+)/.exec(first.stdout)![1]!;
    const again = await run('fuzz', 'ffi', '--target', lib, '--seed', '1', '--runs', '3000', '--known', repro, '--json');
    expect(again.error).toBeUndefined();
    expect(again.exitCode).toBe(0);
    const doc = JSON.parse(again.stdout);
    expect(doc).toMatchObject({ found: false, searchExecs: 3000 });
    expect(doc.known[0].count).toBeGreaterThanOrEqual(1);
    const other = fileURLToPath(new URL('./__fixtures__/protocol-hang-no-peer.json', import.meta.url));
    const wrongKind = await run('fuzz', 'ffi', '--target', join(dir, 'missing.so'), '--known', other);
    expect(wrongKind.error).toBeInstanceOf(UsageError);
    expect(String(wrongKind.error)).toMatch(/--known .*is a protocol reproducer, not ffi/);
  }, 120_000);

  it('exits 1 with the reproducer path when it finds a crash, and --replay reproduces it', async () => {
    const out = join(dir, 'found');
    const r = await run('fuzz', 'ffi', '--target', target('libvu_parser.so'), '--input', 'bytes', '--seed', '3', '--runs', '300000', '--out', out);
    expect(r.error).toBeUndefined();
    expect(r.exitCode).toBe(1);
    const path = /reproducer: (\S+)/.exec(r.stdout)?.[1];
    expect(path).toContain(out);
    expect(r.stderr).toMatch(/execs\/s/);
    const replay = await run('fuzz', '--replay', path!, '--json');
    expect(replay.exitCode).toBe(1);
    expect(JSON.parse(replay.stdout)).toMatchObject({ kind: 'ffi', reproduced: true, sameFailure: true });
  });

  it('exits 0 and prints the rate when nothing is found; --json prints one document', async () => {
    const r = await run('fuzz', 'ffi', '--target', target('libsafe.so'), '--runs', '2000', '--seed', '1', '--json');
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ found: false, seed: 1, searchExecs: 2000, input: { mode: 'structured' } });
  });

  it('exits 3 when the target cannot be loaded', async () => {
    expect((await run('fuzz', 'ffi', '--target', join(dir, 'missing.so'))).exitCode).toBe(3);
    const notElf = join(dir, 'not-elf.so');
    writeFileSync(notElf, 'hello');
    const r = await run('fuzz', 'ffi', '--target', notElf, '--runs', '10');
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(notElf);
  });

  it.each([
    [['--input', 'words'], /--input must be structured or bytes/],
    [['--runs', '10', '--time', '1'], /--runs or --time, not both/],
    [['--runs', 'many'], /--runs wants a whole number/],
  ])('rejects bad usage %j', async (extra, message) => {
    const r = await run('fuzz', 'ffi', '--target', target('libsafe.so'), ...extra);
    expect(r.error).toBeInstanceOf(UsageError);
    expect((r.error as Error).message).toMatch(message);
  });
});

describe('vhostlab fuzz --replay', () => {
  it('rejects a corrupt reproducer with a clear usage error', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "schema": "vhostlab.repro/v1", "kind": "ffi"');
    const r = await run('fuzz', '--replay', bad);
    expect(r.error).toBeInstanceOf(UsageError);
    expect((r.error as Error).message).toMatch(/bad\.json: not a valid vhostlab reproducer: not JSON/);
  });

  it('refuses a live reproducer that records no peer to start', async () => {
    const file = writeRepro(join(dir, 'proto'), {
      kind: 'protocol', seed: 1, path: '0', target: 'x', input: Uint8Array.of(1), failure: { kind: 'hang', summary: 'no answer' },
    });
    const r = await run('fuzz', '--replay', file);
    expect(r.error).toBeInstanceOf(UsageError);
    expect((r.error as Error).message).toMatch(/records no peer to start \(params\.peer\).*--profile P or --backend/);
  });

  it('replays a reproducer that records no peer on the one --backend names', async () => {
    // A hang found against `backend --fault hang-on-oversize`, its recorded peer removed.
    const file = fileURLToPath(new URL('./__fixtures__/protocol-hang-no-peer.json', import.meta.url));
    const backend = (fault: string) => ['--backend', `{node} {package}/bin/vhostlab.cjs backend --socket {socket} ${fault}`, '--mode', 'server'];
    const faulty = await run('fuzz', '--replay', file, ...backend('--fault hang-on-oversize'), '--json');
    expect(faulty.exitCode).toBe(1);
    expect(JSON.parse(faulty.stdout)).toMatchObject({ kind: 'protocol', reproduced: true });
    const fixed = await run('fuzz', '--replay', file, ...backend(''), '--json');
    expect(fixed.exitCode).toBe(0);
    expect(JSON.parse(fixed.stdout)).toMatchObject({ reproduced: false });
  }, 60_000);

  it('--known takes reproducers of the fuzzer\'s own kind and names a bad path before starting anything', async () => {
    const file = fileURLToPath(new URL('./__fixtures__/protocol-hang-no-peer.json', import.meta.url));
    const backend = ['--backend', 'no-such-program {socket}', '--mode', 'server'];
    const other = await run('fuzz', 'datapath', ...backend, '--known', file);
    expect(other.error).toBeInstanceOf(UsageError);
    expect(String(other.error)).toMatch(/--known .*protocol-hang-no-peer\.json is a protocol reproducer, not datapath/);
    const missing = await run('fuzz', 'protocol', ...backend, '--known', join(dir, 'nothing-here'));
    expect(String(missing.error)).toMatch(/--known .*nothing-here does not exist/);
    const notRepro = join(dir, 'notes.json');
    writeFileSync(notRepro, '{"hello": 1}');
    const bad = await run('fuzz', 'protocol', ...backend, '--known', notRepro);
    expect(bad.error).toBeInstanceOf(UsageError);
    expect(String(bad.error)).toMatch(/--known .*notes\.json: /);
  });

  it('--replay --backend without --mode is a usage error', async () => {
    const file = fileURLToPath(new URL('./__fixtures__/protocol-hang-no-peer.json', import.meta.url));
    const r = await run('fuzz', '--replay', file, '--backend', 'x {socket}');
    expect(r.error).toBeInstanceOf(UsageError);
    expect((r.error as Error).message).toMatch(/--backend needs --mode/);
  });

  it('needs a fuzzer name or --replay', async () => {
    expect((await run('fuzz')).error).toBeInstanceOf(UsageError);
  });
});
