import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventfdCreate, closeFd, eventfdWrite } from '../../../native/index.js';
import { NetDevice, runTraffic } from '../../frontend/index.js';
import { Chain } from '../../virtqueue/index.js';
import { ArrayGuestMemory, DEFAULT_USER_ADDR_BASE, type MappedGuestMemory } from '../../memory/index.js';
import { FrontendRequest, HeaderFlag, PACKED_EVENT, payloads, SPLIT_AVAIL, VirtioFeature, featureMask, hasFeature } from '../../wire/index.js';
import { startPair, type Pair } from '../__test-helpers__/pair.js';
import { SessionState, type Violation } from '../session-state.js';
import { DriverFlagsWatch, judgeDriverFlags } from './event-suppression.js';
import { RingOwnership } from './ownership.js';
import { strictHooks } from './strict-hooks.js';
import { ViolationLog } from './violation-log.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rules = (p: Pair): string[] => p.violations.map((v) => v.rule);

describe('strict checking of the front-end', () => {
  let pair: Pair | undefined;
  let dev: NetDevice | undefined;
  afterEach(async () => {
    dev?.close();
    dev = undefined;
    await pair?.stop();
    pair = undefined;
  });

  it('a well-behaved front-end and a clean traffic run produce no violation', async () => {
    pair = startPair({ hooks: strictHooks({ checksums: true }) });
    dev = await NetDevice.start(pair.session, { queueSize: 64 });
    const r = await runTraffic(dev, { packets: 2000, size: 64 });
    expect(r.received).toBe(2000);
    await dev.stop();
    expect(pair.violations).toEqual([]);
  });

  it('flags ring messages out of order: kick before SET_OWNER / SET_FEATURES / a memory table, ENABLE after SET_FEATURES without bit 30', async () => {
    pair = startPair({ hooks: strictHooks() });
    const kick = eventfdCreate();
    try {
      pair.session.sendRaw({ request: FrontendRequest.SET_VRING_KICK, flags: HeaderFlag.VERSION, size: 8, body: payloads.vringFd.encode({ index: 1, noFd: false, upper: 0n }), fds: [kick] });
      // SET_FEATURES without bit 30: SET_VRING_ENABLE is now out of place.
      pair.session.sendRaw({ request: FrontendRequest.SET_FEATURES, flags: HeaderFlag.VERSION, size: 8, body: payloads.u64.encode(1n << 32n), fds: [] });
      pair.session.sendRaw({ request: FrontendRequest.SET_VRING_ENABLE, flags: HeaderFlag.VERSION, size: 8, body: payloads.vringState.encode({ index: 1, num: 1 }), fds: [] });
      pair.session.sendRaw({ request: FrontendRequest.SET_VRING_NUM, flags: HeaderFlag.VERSION, size: 8, body: payloads.vringState.encode({ index: 9, num: 64 }), fds: [] });
      expect(await pair.session.getFeatures()).toBeGreaterThan(0n); // all three handled by now
    } finally {
      closeFd(kick);
    }
    expect(rules(pair)).toEqual(expect.arrayContaining(['VU-SESS-001', 'VU-RING-002', 'VU-MEM-004', 'VU-FEAT-003', 'VU-MQ-001']));
    expect(pair.violations.find((v) => v.rule === 'VU-RING-002')?.ring).toBe(1);
    // The refusals themselves are reported with the dispatcher's rule (ENABLE ungated: VU-PF-002; ring 9: VU-RING-013).
    expect(rules(pair)).toEqual(expect.arrayContaining(['VU-PF-002', 'VU-RING-013']));
  });

  it('flags a head made available twice while the device owns it (VU-DP-019)', async () => {
    pair = startPair({ hooks: strictHooks() });
    dev = await NetDevice.start(pair.session, { queueSize: 64 });
    const tx = dev.pairs[0].tx;
    const head = tx.driver.addSingle(dev.pairs[0].txBuffers.addr, 12 + 60, false);
    // Publish the head twice in one avail->idx store, as a broken driver would.
    const avail = tx.layout.availAddr;
    const idx = dev.memory.readU16(avail + SPLIT_AVAIL.IDX);
    dev.memory.writeU16(avail + SPLIT_AVAIL.RING + 2 * (idx % 64), head);
    dev.memory.writeU16(avail + SPLIT_AVAIL.RING + 2 * ((idx + 1) % 64), head);
    dev.memory.writeU16(avail + SPLIT_AVAIL.IDX, (idx + 2) & 0xffff);
    eventfdWrite(tx.kickFd);
    for (let i = 0; i < 50 && !rules(pair).includes('VU-DP-019'); i++) await sleep(10);
    expect(pair.violations.find((v) => v.rule === 'VU-DP-019')).toMatchObject({ ring: 1, detail: expect.stringContaining(`head ${head}`) });
  });

  it('an avail index that jumps by more than the ring size is reported (VU-DP-003), once in the violations file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vhl-strict-'));
    const log = new ViolationLog(join(dir, 'v.jsonl'));
    try {
      pair = startPair({ hooks: strictHooks() });
      const p = pair;
      dev = await NetDevice.start(p.session, { queueSize: 64 });
      const tx = dev.pairs[0].tx;
      const avail = tx.layout.availAddr;
      dev.memory.writeU16(avail + SPLIT_AVAIL.IDX, (dev.memory.readU16(avail + SPLIT_AVAIL.IDX) + 65) & 0xffff);
      eventfdWrite(tx.kickFd);
      for (let i = 0; i < 50 && !rules(p).includes('VU-DP-003'); i++) await sleep(10);
      await sleep(50);
      for (const v of p.violations) log.write(v);
      log.close();
      const lines = readFileSync(join(dir, 'v.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const jumps = lines.filter((l) => l.rule === 'VU-DP-003');
      expect(jumps).toHaveLength(1);
      expect(jumps[0]).toMatchObject({ rule: 'VU-DP-003', ring: 1, detail: expect.stringContaining('more than queue size 64') });
      expect(typeof jumps[0].at).toBe('string');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('strict checking of the driver event-suppression field', () => {
  let pair: Pair | undefined;
  let dev: NetDevice | undefined;
  afterEach(async () => {
    dev?.close();
    dev = undefined;
    await pair?.stop();
    pair = undefined;
  });

  const waitFor = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 100 && !cond(); i++) await sleep(10);
  };
  /** Several separate traffic runs: each publishes used elements on both rings, so each runs `afterFlush`. */
  const bursts = async (d: NetDevice, runs: number): Promise<void> => {
    for (let i = 0; i < runs; i++) expect((await runTraffic(d, { packets: 64, size: 64 })).received).toBe(64);
  };
  const start = async (extraFeatures = 0n, packed = false): Promise<{ p: Pair; d: NetDevice }> => {
    const p = (pair = startPair({ hooks: strictHooks() }));
    const d = (dev = await NetDevice.start(p.session, { queueSize: 64, extraFeatures, packed }));
    expect(hasFeature(d.negotiated.features, VirtioFeature.EVENT_IDX)).toBe(extraFeatures !== 0n);
    return { p, d };
  };
  // Split: the flags field heads the available ring; packed: the driver event suppression area.
  const splitFlags = (d: NetDevice, ring: 'rx' | 'tx', v: number): void => d.memory.writeU16(d.pairs[0][ring].layout.availAddr + SPLIT_AVAIL.FLAGS, v);
  const packedFlags = (d: NetDevice, ring: 'rx' | 'tx', v: number): void => d.memory.writeU16(d.pairs[0][ring].layout.availAddr + PACKED_EVENT.FLAGS, v);

  it('split without EVENT_IDX: avail->flags 2 is one VU-EVT-001, however many bursts follow', async () => {
    const { p, d } = await start();
    splitFlags(d, 'tx', 2);
    await bursts(d, 3);
    await waitFor(() => rules(p).includes('VU-EVT-001'));
    await sleep(50);
    expect(p.violations).toEqual([{ rule: 'VU-EVT-001', ring: 1, detail: expect.stringContaining('0x0002') }]);
  });

  it('split without EVENT_IDX: avail->flags 1 and 0 are fine', async () => {
    const { p, d } = await start();
    splitFlags(d, 'tx', 1);
    splitFlags(d, 'rx', 0);
    await bursts(d, 3);
    await sleep(50);
    expect(p.violations).toEqual([]);
  });

  it('split with EVENT_IDX: avail->flags 1 is VU-EVT-002; 0 is fine', async () => {
    const { p, d } = await start(featureMask(VirtioFeature.EVENT_IDX));
    splitFlags(d, 'tx', 1);
    splitFlags(d, 'rx', 0);
    await bursts(d, 2);
    await waitFor(() => rules(p).includes('VU-EVT-002'));
    await sleep(50);
    expect(p.violations).toEqual([{ rule: 'VU-EVT-002', ring: 1, detail: expect.stringContaining('0x0001') }]);
  });

  it('packed without EVENT_IDX: driver flags 2 (DESC) and 3 (reserved) are VU-PK-009, once per ring', async () => {
    const { p, d } = await start(0n, true);
    packedFlags(d, 'tx', 2);
    packedFlags(d, 'rx', 3);
    await bursts(d, 3);
    await waitFor(() => p.violations.length >= 2);
    await sleep(50);
    expect(p.violations).toHaveLength(2);
    expect(p.violations).toEqual(expect.arrayContaining([
      { rule: 'VU-PK-009', ring: 1, detail: expect.stringContaining('DESC') },
      { rule: 'VU-PK-009', ring: 0, detail: expect.stringContaining('reserved') },
    ]));
  });

  it('packed: a well-behaved driver (DISABLE; DESC with EVENT_IDX) produces no violation', async () => {
    const { p, d } = await start(featureMask(VirtioFeature.EVENT_IDX), true);
    packedFlags(d, 'tx', 2);
    await bursts(d, 3);
    await d.stop();
    expect(p.violations).toEqual([]);
  });
});

describe('strict driver-flags hooks on a synthetic session', () => {
  const AVAIL = 0x1000;
  const setup = (): { state: SessionState; mem: ArrayGuestMemory; violations: Violation[] } => {
    const violations: Violation[] = [];
    const state = new SessionState(0n, 0n, 2, { violation: (v) => violations.push(v) });
    const mem = new ArrayGuestMemory([{ guestPhysAddr: 0, size: 0x4000 }]);
    // The checks use only the GuestMemory interface of the table; no mapped memfd is needed.
    state.memory = mem as unknown as MappedGuestMemory;
    const user = BigInt(DEFAULT_USER_ADDR_BASE);
    state.rings[1].addr = { index: 1, flags: 0, descAddr: user, availAddr: user + BigInt(AVAIL), usedAddr: user + 0x2000n, logGuestAddr: 0n };
    return { state, mem, violations };
  };
  const ringStart = (format: 'split' | 'packed') => ({ ring: 1, format, lastAvailIdx: 0, usedIdx: 0, availWrapCounter: true, usedWrapCounter: true });

  it('reports a problem once per ring start, again after a restart, and never through a replaced memory table', () => {
    const { state, mem, violations } = setup();
    const dp = strictHooks().dataPath!;
    mem.writeU16(AVAIL + SPLIT_AVAIL.FLAGS, 5);
    dp.onRingStart!(ringStart('split'), state);
    for (let i = 0; i < 5; i++) dp.afterFlush!(1, state);
    expect(violations).toEqual([{ rule: 'VU-EVT-001', ring: 1, detail: expect.stringContaining('0x0005') }]);
    mem.writeU16(AVAIL + SPLIT_AVAIL.FLAGS, 7); // the same problem with another value
    dp.afterFlush!(1, state);
    expect(violations).toHaveLength(1);
    dp.onRingStart!(ringStart('split'), state);
    dp.afterFlush!(1, state);
    expect(violations).toHaveLength(2);
    dp.onRingStart!(ringStart('split'), state);
    state.memory = new ArrayGuestMemory([{ guestPhysAddr: 0, size: 0x4000 }]) as unknown as MappedGuestMemory;
    dp.afterFlush!(1, state); // a release flush after SET_MEM_TABLE: the old address is not read
    expect(violations).toHaveLength(2);
  });

  it('reads the packed driver event flags at the driver area + 2, with the features of the ring start', () => {
    const { state, mem, violations } = setup();
    const dp = strictHooks().dataPath!;
    mem.writeU16(AVAIL + PACKED_EVENT.OFF_WRAP, 2); // an off_wrap of 2 is no flags value
    dp.onRingStart!(ringStart('packed'), state);
    dp.afterFlush!(1, state);
    expect(violations).toEqual([]);
    mem.writeU16(AVAIL + PACKED_EVENT.FLAGS, 2);
    dp.afterFlush!(1, state);
    expect(violations).toEqual([{ rule: 'VU-PK-009', ring: 1, detail: expect.stringContaining('without VIRTIO_F_EVENT_IDX') }]);
    state.features = featureMask(VirtioFeature.EVENT_IDX);
    dp.onRingStart!(ringStart('packed'), state);
    dp.afterFlush!(1, state);
    expect(violations).toHaveLength(1);
  });

  it('makes no watch for a driver area outside the memory table', () => {
    const { state } = setup();
    state.rings[1].addr = { ...state.rings[1].addr!, availAddr: 0x10n };
    expect(DriverFlagsWatch.atRingStart(ringStart('split'), state)).toBeUndefined();
  });
});

describe('judgeDriverFlags', () => {
  it.each([
    ['split', false, 0, undefined], ['split', false, 1, undefined], ['split', false, 2, 'VU-EVT-001'], ['split', false, 0x8000, 'VU-EVT-001'],
    ['split', true, 0, undefined], ['split', true, 1, 'VU-EVT-002'], ['split', true, 2, 'VU-EVT-002'],
    ['packed', false, 0, undefined], ['packed', false, 1, undefined], ['packed', false, 2, 'VU-PK-009'], ['packed', false, 3, 'VU-PK-009'],
    ['packed', true, 2, undefined], ['packed', true, 3, 'VU-PK-009'],
  ] as const)('%s, EVENT_IDX %s, flags %i → %s', (format, eventIdx, flags, rule) => {
    expect(judgeDriverFlags(format, eventIdx, flags)?.rule).toBe(rule);
  });
});

describe('RingOwnership', () => {
  const chainOver = (bytes: Uint8Array, head: number): Chain => {
    const c = new Chain();
    c.reset(head);
    const s = c.take(false);
    s.host = bytes;
    s.hostOffset = 0;
    s.len = bytes.length;
    s.addr = 0;
    c.readableBytes = bytes.length;
    c.finish();
    return c;
  };

  it('with checksums, a readable buffer changed between pop and completion is reported', () => {
    const bytes = Uint8Array.from([1, 2, 3, 4]);
    const o = new RingOwnership(true);
    const c = chainOver(bytes, 7);
    expect(o.take(c)).toBeUndefined();
    bytes[2] = 9;
    expect(o.give(7, c)).toMatch(/head 7 changed/);
    expect(o.take(c)).toMatch(/head 7 made available again/); // given but not yet published
    o.published();
    o.give(7, c);
    o.published();
    expect(o.take(c)).toBeUndefined();
    expect(o.give(7, c)).toBeUndefined(); // unchanged since this pop
  });
});

describe('ViolationLog', () => {
  it('creates an empty file and writes one JSON line per distinct violation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vhl-vlog-'));
    try {
      const path = join(dir, 'v.jsonl');
      const log = new ViolationLog(path);
      expect(readFileSync(path, 'utf8')).toBe('');
      log.write({ rule: 'VU-DP-019', detail: 'x', ring: 1 });
      log.write({ rule: 'VU-DP-019', detail: 'x', ring: 1 });
      log.write({ rule: 'VU-FEAT-003', detail: 'y' });
      log.close();
      const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => l.rule)).toEqual(['VU-DP-019', 'VU-FEAT-003']);
      expect(lines[1]).not.toHaveProperty('ring');
      expect(log.suppressed).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
