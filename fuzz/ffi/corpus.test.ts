import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRepro } from '../replay/repro.js';
import { ROOT, ensureTargets } from './__test-helpers__/targets.js';
import { replayFfi } from './replay.js';

// Regression files: reproducers found by `fuzz ffi` and committed under fuzz/corpus/ffi/. Each
// must still crash its recorded target (relative to the repository root) the recorded way.
const CORPUS = join(ROOT, 'fuzz/corpus/ffi');
const files = readdirSync(CORPUS).filter((f) => f.endsWith('.json'));

beforeAll(ensureTargets, 60_000);

describe('fuzz/corpus/ffi regressions', () => {
  it('holds reproducers', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it.each(files)('%s replays', async (file) => {
    const repro = readRepro(join(CORPUS, file));
    const r = await replayFfi(repro, { target: join(ROOT, repro.target) });
    expect(r.reproduced).toBe(true);
    expect(r.failure!.summary).toBe(repro.failure.summary);
    expect(r.regenerates).toBe(true);
  });
});
