import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakePeer, type PlantedFault } from '../__test-helpers__/fake-peer.js';
import { readRepro, type Repro } from '../replay/index.js';
import { replayProtocol } from '../protocol/replay.js';
import { replayReconnect } from '../reconnect/fuzz-reconnect.js';
import { replayMemory } from '../memory/fuzz-memory.js';
import { replayDatapath } from '../datapath/fuzz-datapath.js';

// Regression files of the live fuzzers found against the in-process fake back-ends (their
// `target` names the planted faults); each must still fail there, and must not fail against the
// same back-end without faults. Findings against real back-ends replay in test/interop.
const here = fileURLToPath(new URL('.', import.meta.url));
const files = ['protocol', 'reconnect', 'memory', 'datapath'].flatMap((kind) => {
  try {
    return readdirSync(join(here, kind)).filter((f) => f.endsWith('.json')).map((f) => join(here, kind, f));
  } catch {
    return [];
  }
});
const faultsOf = (r: Repro): PlantedFault[] | undefined => {
  const m = /^fake-backend\[(.*)\]$/.exec(r.target);
  return m ? (m[1] === 'none' ? [] : (m[1].split(',') as PlantedFault[])) : undefined;
};
const replay = (r: Repro, p: FakePeer) => (r.kind === 'protocol' ? replayProtocol(r, p) : r.kind === 'reconnect' ? replayReconnect(r, p) : r.kind === 'datapath' ? replayDatapath(r, p) : replayMemory(r, p));

describe('live fuzz corpus', () => {
  it('holds regression files for the fake back-ends', () => {
    expect(files.map((f) => readRepro(f)).filter((r) => faultsOf(r) !== undefined).length).toBeGreaterThanOrEqual(3);
  });
  for (const file of files) {
    const repro = readRepro(file);
    const faults = faultsOf(repro);
    if (faults === undefined) continue;
    it(`${file.slice(here.length)} still fails with the planted fault and passes without it`, async () => {
      const bad = new FakePeer(faults);
      await bad.start();
      try {
        const r = await replay(repro, bad);
        expect(r.reproduced).toBe(true);
        expect(r.finding?.kind).toBe(repro.failure.kind);
      } finally {
        await bad.stop();
      }
      const good = new FakePeer([]);
      await good.start();
      try {
        expect((await replay(repro, good)).reproduced).toBe(false);
      } finally {
        await good.stop();
      }
    });
  }
});
