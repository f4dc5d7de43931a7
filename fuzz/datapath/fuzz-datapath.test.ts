import { afterEach, describe, expect, it } from 'vitest';
import { FakePeer, type PlantedFault } from '../__test-helpers__/fake-peer.js';
import { isFinding } from '../campaign/finding.js';
import { fuzzDatapath } from './fuzz-datapath.js';
import { runDatapathScenario } from './run-datapath.js';
import type { DatapathScenario } from './scenario.js';

const HDR0 = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
// A TX chain: the 12-byte header, then the frame, then back to the header (a 2-descriptor loop).
const loop: DatapathScenario = {
  ring: 'tx', header: HDR0, tables: [], heads: [0], availExtra: 0,
  descs: [
    { addr: { k: 'scratch', off: 0 }, len: 12, flags: 1, next: 1 },
    { addr: { k: 'scratch', off: 12 }, len: 64, flags: 1, next: 0 },
  ],
};

describe('fuzz datapath', () => {
  const peers: FakePeer[] = [];
  const peer = async (faults: PlantedFault[]): Promise<FakePeer> => {
    const p = new FakePeer(faults);
    peers.push(p);
    await p.start();
    return p;
  };
  afterEach(async () => {
    for (const p of peers.splice(0)) await p.stop();
  });

  it('a descriptor loop is survived by the reference back-end and is a hang where the walk never ends', async () => {
    await runDatapathScenario(await peer([]), loop, { replyTimeoutMs: 1000 });
    const err = await runDatapathScenario(await peer(['hang-on-chain-loop']), loop, { replyTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(isFinding(err) && err.kind).toBe('hang');
  });

  it('an RX chain pointing past the region crashes the planted back-end and not the reference one', async () => {
    const s: DatapathScenario = { ...loop, ring: 'rx', descs: [{ addr: { k: 'edge', e: 'last-16' }, len: 2048, flags: 2, next: 0 }] };
    await runDatapathScenario(await peer([]), s, { replyTimeoutMs: 1000 });
    const err = await runDatapathScenario(await peer(['crash-on-bad-address']), s, { replyTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(isFinding(err) && err.kind).toBe('crash');
  });

  it('finds the planted crash, shrinks it to a short scenario and replays it', async () => {
    const r = await fuzzDatapath({ peer: await peer(['crash-on-bad-address']), seed: 1, runs: 60, replyTimeoutMs: 1000 });
    expect(r.finding?.kind).toBe('crash');
    expect(r.finding?.replays).toBe(true);
    expect(r.finding!.scenario.descs.length).toBeLessThanOrEqual(3);
  });

  it('finds nothing in a short run against the reference back-end', async () => {
    const r = await fuzzDatapath({ peer: await peer([]), seed: 5, runs: 25, replyTimeoutMs: 1000 });
    expect(r.finding).toBeUndefined();
    expect(r.searchExecs).toBe(25);
  });
});
