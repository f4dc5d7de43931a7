import { afterEach, describe, expect, it } from 'vitest';
import { FakePeer, type PlantedFault } from '../__test-helpers__/fake-peer.js';
import { isFinding } from '../campaign/finding.js';
import { fuzzDatapath } from './fuzz-datapath.js';
import { runDatapathScenario } from './run-datapath.js';
import { PackedNotOfferedError } from './run-packed.js';
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
    const r = await fuzzDatapath({ peer: await peer(['crash-on-bad-address']), layouts: ['split'], seed: 1, runs: 60, replyTimeoutMs: 1000 });
    expect(r.finding?.kind).toBe('crash');
    expect(r.finding?.replays).toBe(true);
    expect(r.finding!.scenario.descs.length).toBeLessThanOrEqual(3);
  });

  it('finds nothing in a short run against the reference back-end, and draws both layouts since it offers RING_PACKED', async () => {
    const r = await fuzzDatapath({ peer: await peer([]), seed: 5, runs: 25, replyTimeoutMs: 1000 });
    expect(r.finding).toBeUndefined();
    expect(r.searchExecs).toBe(25);
    expect(r.layouts).toEqual(['split', 'packed']);
  });

  it('draws split only from a peer without RING_PACKED, and refuses packed there with a clear error', async () => {
    const p = await peer(['no-packed-offer']);
    const r = await fuzzDatapath({ peer: p, seed: 5, runs: 3, replyTimeoutMs: 1000 });
    expect(r.layouts).toEqual(['split']);
    const err = await fuzzDatapath({ peer: p, layouts: ['split', 'packed'], seed: 5, runs: 3, replyTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PackedNotOfferedError);
    expect((err as Error).message).toMatch(/does not offer VIRTIO_F_RING_PACKED/);
  });
});

describe('fuzz datapath, packed rings', () => {
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
  // Header then frame, chained; the second descriptor carries the buffer id (virtio §2.8.6).
  const chain: DatapathScenario = {
    layout: 'packed', ring: 'tx', header: HDR0, tables: [], heads: [], availExtra: 0,
    descs: [
      { addr: { k: 'scratch', off: 0 }, len: 12, flags: 1, next: 0 },
      { addr: { k: 'scratch', off: 12 }, len: 64, flags: 0, next: 3 },
    ],
  };

  it('a well-formed chain posted after the warm-up (across the wrap or not) passes on the reference back-end', async () => {
    const p = await peer([]);
    await runDatapathScenario(p, chain, { replyTimeoutMs: 1000 });
    // 15 slots from a mid-ring position always cross the wrap: the wrap counter must flip for the later slots.
    const long: DatapathScenario = { ...chain, descs: Array.from({ length: 15 }, (_, i) => ({ addr: { k: 'scratch' as const, off: 12 }, len: 64, flags: 0, next: i })) };
    await runDatapathScenario(p, long, { replyTimeoutMs: 1000 });
    // The device must read those later slots as available: a three-descriptor chain placed after
    // the wrap trips the planted wrong id, which it can only do if the device walked that far.
    const frame = { addr: { k: 'scratch' as const, off: 12 }, len: 64, flags: 0 };
    const wrapped: DatapathScenario = {
      ...chain,
      descs: [
        ...Array.from({ length: 12 }, (_, i) => ({ ...frame, next: i })),
        { addr: { k: 'scratch', off: 0 }, len: 12, flags: 1, next: 0 },
        { ...frame, len: 32, flags: 1, next: 0 },
        { addr: { k: 'scratch', off: 44 }, len: 32, flags: 0, next: 12 },
      ],
    };
    await runDatapathScenario(p, wrapped, { replyTimeoutMs: 1000 });
    const err = await runDatapathScenario(await peer(['wrong-id-on-long-tx-chain']), wrapped, { replyTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(isFinding(err) && err.summary).toContain('used descriptor {id 13');
  });

  it('an RX descriptor past the region crashes the planted back-end and not the reference one', async () => {
    const s: DatapathScenario = { ...chain, ring: 'rx', descs: [{ addr: { k: 'edge', e: 'last-16' }, len: 2048, flags: 2, next: 0 }] };
    await runDatapathScenario(await peer([]), s, { replyTimeoutMs: 1000 });
    const err = await runDatapathScenario(await peer(['crash-on-bad-address']), s, { replyTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(isFinding(err) && err.kind).toBe('crash');
  });

  it('a used descriptor naming a buffer id never posted is state loss', async () => {
    const three: DatapathScenario = { ...chain, descs: [chain.descs[0]!, { ...chain.descs[1]!, len: 32, flags: 1 }, { addr: { k: 'scratch', off: 44 }, len: 32, flags: 0, next: 3 }] };
    await runDatapathScenario(await peer([]), three, { replyTimeoutMs: 1000 });
    const err = await runDatapathScenario(await peer(['wrong-id-on-long-tx-chain']), three, { replyTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(isFinding(err) && err.kind).toBe('state-loss');
    expect(isFinding(err) && err.summary).toContain('used descriptor {id 4');
  });

  it('flipped AVAIL bits make a descriptor unavailable: nothing is processed and nothing is blamed', async () => {
    const AVAIL = 1 << 7;
    const s: DatapathScenario = { ...chain, descs: [{ ...chain.descs[0]!, flags: 1 | AVAIL }, chain.descs[1]!] };
    await runDatapathScenario(await peer([]), s, { replyTimeoutMs: 1000 });
  });

  it('finds the planted crash on packed rings, shrinks it to a short packed scenario and replays it', async () => {
    const r = await fuzzDatapath({ peer: await peer(['crash-on-bad-address']), layouts: ['packed'], seed: 1, runs: 60, replyTimeoutMs: 1000 });
    expect(r.layouts).toEqual(['packed']);
    expect(r.finding?.kind).toBe('crash');
    expect(r.finding?.replays).toBe(true);
    expect(r.finding!.scenario.layout).toBe('packed');
    expect(r.finding!.scenario.descs.length).toBeLessThanOrEqual(3);
  });
});
