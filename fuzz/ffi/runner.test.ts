import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KnownFindings, findingSignature } from '../campaign/known.js';
import { readRepro } from '../replay/repro.js';
import { ROOT, ensureTargets, target } from './__test-helpers__/targets.js';
import { replayFfi } from './replay.js';
import { fuzzFfi } from './runner.js';

beforeAll(ensureTargets, 60_000);

const out = () => mkdtempSync(join(tmpdir(), 'vhl-ffi-'));

describe('fuzz ffi runner', () => {
  it('structured mode reaches the deep bug and shrinks it to the short message sequence', async () => {
    const dir = out();
    // Messages are shrunk first (they lead the stream record); a full shrink of every field takes
    // ~100 crash-and-restart steps, so the test gives shrinking a budget and checks the sequence.
    const r = await fuzzFfi({ target: target('libvu_parser_deep.so'), mode: 'structured', seed: 2, runs: 200_000, outDir: dir, shrinkTimeMs: 2_500 });
    expect(r.finding).toBeDefined();
    const f = r.finding!;
    expect(f.failure).toMatchObject({ kind: 'crash', signal: 'SIGSEGV' });
    expect(f.execsToFind).toBeLessThan(200_000);
    const repro = readRepro(f.reproPath!);
    const names = repro.input.messages!.map((m) => m.request);
    // The bug needs exactly these four; shrinking leaves little else.
    for (const n of ['SET_MEM_TABLE', 'SET_VRING_NUM', 'SET_VRING_ADDR', 'SET_VRING_KICK']) expect(names).toContain(n);
    expect(names.length).toBeLessThanOrEqual(5);
    expect(names.indexOf('SET_VRING_KICK')).toBeGreaterThan(names.indexOf('SET_MEM_TABLE'));
    expect(repro.input.messages!.find((m) => m.request === 'SET_MEM_TABLE')!.detail).toContain('nregions:2');
    expect(f.input.byteLength).toBeLessThanOrEqual(f.unshrunk.byteLength);
    expect(f.shrinkSteps).toBeGreaterThan(0);
    expect(repro).toMatchObject({ kind: 'ffi', seed: 2, path: f.path, params: { mode: 'structured' } });
    // The culprit was saved raw before shrinking.
    expect(readdirSync(dir).some((n) => n.startsWith('crash-'))).toBe(true);
  });

  it('bytes mode finds the shallow bug: SET_MEM_TABLE with a size below 8', async () => {
    const r = await fuzzFfi({ target: target('libvu_parser.so'), mode: 'bytes', seed: 3, runs: 300_000 });
    const f = r.finding!;
    expect(f).toBeDefined();
    expect(f.signature).toBe('crash:SIGSEGV');
    const v = new DataView(f.input.buffer, f.input.byteOffset, f.input.byteLength);
    expect(v.getUint32(0, true)).toBe(5); // SET_MEM_TABLE
    expect(v.getUint32(4, true) & 3).toBe(1); // version 1
    expect(v.getUint32(8, true)).toBeLessThan(8);
  });

  it('runs every input of a safe target and finds nothing', async () => {
    const r = await fuzzFfi({ target: target('libsafe.so'), mode: 'structured', seed: 1, runs: 3_000, batchSize: 100 });
    expect(r.finding).toBeUndefined();
    expect(r.searchExecs).toBe(3_000);
    expect(r.execsPerSec).toBeGreaterThan(0);
  });

  it('replays a written reproducer: same crash, and seed + path regenerate the bytes', async () => {
    const dir = out();
    const r = await fuzzFfi({ target: target('libvu_parser.so'), mode: 'bytes', seed: 3, runs: 300_000, outDir: dir });
    const repro = readRepro(r.finding!.reproPath!);
    const replay = await replayFfi(repro);
    expect(replay).toMatchObject({ reproduced: true, sameFailure: true, regenerates: true });
    // The deep-only build has no shallow bug: the same input passes there.
    const fixed = await replayFfi(repro, { target: target('libvu_parser_deep.so') });
    expect(fixed.reproduced).toBe(false);
  });

  it('reports a target that cannot be loaded with a typed error', async () => {
    await expect(fuzzFfi({ target: '/etc/hostname', runs: 10 })).rejects.toMatchObject({ code: 'VHU_ERR_FFI_TARGET_LOAD' });
  });
  describe('known findings (--known)', () => {
    // The ASan build names the crashing function, so the two planted bugs are two classes.
    const deep = new KnownFindings([{ signature: findingSignature('crash', 'AddressSanitizer: SEGV in vring_start'), label: 'deep.json' }]);

    it('counts every crash of a known class in the search and runs the whole budget past them', async () => {
      const met: number[] = [];
      const r = await fuzzFfi({ target: target('libvu_parser-asan.so'), mode: 'structured', seed: 1, runs: 3_000, known: deep, onKnown: (h) => met.push(h.count) });
      // Without --known this seed stops at input 519 with the deep bug (see the CLI test).
      expect(r.finding).toBeUndefined();
      expect(r.searchExecs).toBe(3_000);
      expect(r.known).toHaveLength(1);
      expect(r.known[0]).toMatchObject({ label: 'deep.json' });
      expect(r.known[0]!.count).toBeGreaterThanOrEqual(2);
      expect(met).toEqual(Array.from({ length: r.known[0]!.count }, (_, i) => i + 1));
    });

    it('steps over a known bug in the corpus and reports the next one', async () => {
      const corpus = mkdtempSync(join(tmpdir(), 'vhl-ffi-corpus-'));
      mkdirSync(corpus, { recursive: true });
      // Sorted by name: the deep bug's input runs first, then the shallow one.
      copyFileSync(join(ROOT, 'fuzz/corpus/ffi/vu-parser-deep-ring-translation.json'), join(corpus, 'a-deep.json'));
      copyFileSync(join(ROOT, 'fuzz/corpus/ffi/vu-parser-shallow-mem-table-size.json'), join(corpus, 'b-shallow.json'));
      const r = await fuzzFfi({ target: target('libvu_parser-asan.so'), corpusDir: corpus, seed: 1, runs: 1, known: deep });
      expect(r.known).toEqual([expect.objectContaining({ label: 'deep.json', count: 1 })]);
      expect(r.finding).toMatchObject({ source: 'corpus', corpusFile: join(corpus, 'b-shallow.json'), failure: { kind: 'crash' } });
      expect(r.finding!.failure.summary).toMatch(/^AddressSanitizer: stack-buffer-overflow in \w+$/);
    });
  });
});
