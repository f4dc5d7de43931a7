import { afterEach, describe, expect, it } from 'vitest';
import { FakePeer } from '../__test-helpers__/fake-peer.js';
import { fuzzMemory } from './fuzz-memory.js';
import { runMemoryScenario } from './run-memory.js';

describe('fuzz memory', () => {
  const peers: FakePeer[] = [];
  afterEach(async () => {
    for (const p of peers.splice(0)) await p.stop();
  });

  it('frames keep landing in the current memory across replacements and extra regions', async () => {
    const peer = new FakePeer([]);
    peers.push(peer);
    await peer.start();
    await runMemoryScenario(peer, {
      ops: [{ kind: 'traffic', frames: 30 }, { kind: 'replace', offsetPages: 2 }, { kind: 'traffic', frames: 10 }, { kind: 'extra', gpaSlot: 1, pages: 4 }, { kind: 'replace', offsetPages: 0 }],
      finalFrames: 20,
    }, { replyTimeoutMs: 2000 });
  });

  it('finds nothing in a short run against the reference back-end', async () => {
    const peer = new FakePeer([]);
    peers.push(peer);
    await peer.start();
    const r = await fuzzMemory({ peer, seed: 9, runs: 15, replyTimeoutMs: 2000 });
    expect(r.finding).toBeUndefined();
    expect(r.searchExecs).toBe(15);
  });
});
