import { afterEach, describe, expect, it } from 'vitest';
import { FakePeer } from '../__test-helpers__/fake-peer.js';
import { fuzzReconnect } from './fuzz-reconnect.js';
import { runReconnectScenario } from './run-scenario.js';

describe('fuzz reconnect', () => {
  const peers: FakePeer[] = [];
  afterEach(async () => {
    for (const p of peers.splice(0)) await p.stop();
  });
  const start = async (p: FakePeer) => {
    peers.push(p);
    await p.start();
    return p;
  };

  it('a correct back-end survives every kind of disconnect: descriptors complete once, traffic resumes', async () => {
    const peer = await start(new FakePeer([]));
    await runReconnectScenario(peer, {
      cycles: [
        { frames: 20, point: { kind: 'in-flight' }, action: 'close', pauseMs: 0 },
        { frames: 5, point: { kind: 'idle' }, action: 'graceful', pauseMs: 0 },
        { frames: 10, point: { kind: 'in-start', message: 6, fraction: 0.5 }, action: 'kill-backend', pauseMs: 0 },
      ],
      finalFrames: 16,
    }, { replyTimeoutMs: 2000 });
  });

  it('finds nothing in a short run against the reference back-end', async () => {
    const peer = await start(new FakePeer([]));
    const r = await fuzzReconnect({ peer, seed: 11, runs: 15, replyTimeoutMs: 2000 });
    expect(r.finding).toBeUndefined();
    expect(r.searchExecs).toBe(15);
  });

  it('detects a back-end that loses ring state across a reconnect and shrinks to one cycle', async () => {
    const peer = await start(new FakePeer(['lose-ring-state']));
    const r = await fuzzReconnect({ peer, seed: 5, runs: 30, replyTimeoutMs: 2000, shrinkTimeMs: 10_000 });
    expect(r.finding?.kind).toBe('state-loss');
    expect(r.finding!.scenario.cycles.length).toBe(1);
    expect(r.finding!.replays).toBe(true);
  });
});
