import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakePeer } from '../__test-helpers__/fake-peer.js';
import { KnownFindings, findingSignature } from '../campaign/known.js';
import { readRepro } from '../replay/index.js';
import { fuzzProtocol } from './fuzz-protocol.js';
import { replayProtocol } from './replay.js';

describe('fuzz protocol against in-process back-ends with planted faults', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  const setup = async (peer: FakePeer) => {
    await peer.start();
    const out = mkdtempSync(join(tmpdir(), 'vhl-fz-out-'));
    cleanups.push(() => peer.stop(), () => rmSync(out, { recursive: true, force: true }));
    return out;
  };

  it('finds a planted crash, shrinks it to a short sequence and the reproducer replays', async () => {
    const peer = new FakePeer(['crash-addr-after-zero-num']);
    const out = await setup(peer);
    const r = await fuzzProtocol({ peer, seed: 42, runs: 300, replyTimeoutMs: 1000, outDir: out, shrinkTimeMs: 15_000, traffic: false });
    expect(r.finding?.kind).toBe('crash');
    expect(r.finding!.summary).toContain('SIGSEGV');
    // The shortest trigger is two messages; shrinking keeps little more than that.
    expect(r.finding!.steps.length).toBeLessThanOrEqual(6);
    expect(r.finding!.steps.map((s) => s.label).join(' ')).toMatch(/SET_VRING_NUM.*SET_VRING_ADDR/);
    expect(r.finding!.replays).toBe(true);
    const repro = readRepro(r.finding!.reproPath!);
    expect(repro.kind).toBe('protocol');
    const again = await replayProtocol(repro, peer);
    expect(again.reproduced).toBe(true);
    expect(again.finding?.kind).toBe('crash');
  });

  it('finds a planted hang and shrinks it to the message that causes it', async () => {
    const peer = new FakePeer(['hang-call-nofd-ring1']);
    const out = await setup(peer);
    const r = await fuzzProtocol({ peer, seed: 7, runs: 300, replyTimeoutMs: 300, outDir: out, shrinkTimeMs: 10_000, traffic: false });
    expect(r.finding?.kind).toBe('hang');
    expect(r.finding!.steps.length).toBeLessThanOrEqual(4);
    expect(r.finding!.steps.some((s) => s.label.startsWith('SET_VRING_CALL'))).toBe(true);
    expect(r.finding!.replays).toBe(true);
  });

  it('passes over a known finding class (--known) and goes on to report the next bug', async () => {
    const peer = new FakePeer(['hang-call-nofd-ring1', 'crash-addr-after-zero-num']);
    const out = await setup(peer);
    const first = await fuzzProtocol({ peer, seed: 7, runs: 300, replyTimeoutMs: 300, outDir: out, noShrink: true, traffic: false });
    expect(first.finding).toBeDefined();
    expect(first.known).toEqual([]);
    const repro = readRepro(first.finding!.reproPath!);
    expect(repro.failure.signature).toBe(findingSignature(first.finding!.kind, first.finding!.summary));
    const known = new KnownFindings([{ signature: repro.failure.signature!, label: 'first.json' }]);
    const next = await fuzzProtocol({ peer, seed: 7, runs: 300, replyTimeoutMs: 300, noShrink: true, traffic: false, known });
    // The same seed meets the first bug again, steps over it, and reports the other one.
    expect(next.known).toEqual([expect.objectContaining({ label: 'first.json', count: expect.any(Number) as number })]);
    expect(next.known[0].count).toBeGreaterThanOrEqual(1);
    expect(next.finding).toBeDefined();
    expect(next.finding!.kind).not.toBe(first.finding!.kind);
  });

  it('finds nothing in the reference back-end within a short bounded run', async () => {
    const peer = new FakePeer([]);
    await setup(peer);
    const r = await fuzzProtocol({ peer, seed: 3, runs: 40, replyTimeoutMs: 1000 });
    expect(r.finding).toBeUndefined();
    expect(r.searchExecs).toBe(40);
    expect(r.execsPerSec).toBeGreaterThan(0);
  });
});
