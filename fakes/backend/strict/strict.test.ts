import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventfdCreate, closeFd, eventfdWrite } from '../../../native/index.js';
import { NetDevice, runTraffic } from '../../frontend/index.js';
import { Chain } from '../../virtqueue/index.js';
import { FrontendRequest, HeaderFlag, payloads, SPLIT_AVAIL } from '../../wire/index.js';
import { startPair, type Pair } from '../__test-helpers__/pair.js';
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
    expect(rules(pair)).toEqual(expect.arrayContaining(['VU-SESS-002', 'VU-RING-002', 'VU-RING-015', 'VU-FEAT-003', 'VU-MQ-001']));
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
