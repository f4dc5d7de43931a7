import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptAsync, closeFd, eventfdWrite, unixListen } from '../../../native/index.js';
import { NetDevice, runTraffic } from '../../frontend/index.js';
import { startRing } from '../../frontend/start.js';
import { MemfdGuestMemory } from '../../memory/index.js';
import { Connection } from '../../transport/index.js';
import { FrontendRequest, HeaderFlag, ProtocolFeature, REPLY_FLAGS, featureMask, payloads, type RawMessage } from '../../wire/index.js';
import { leakProbe, startPair, type Pair } from '../__test-helpers__/pair.js';
import { BackendClient } from '../client.js';
import { NetLoopbackDevice } from '../net-loopback.js';
import { CRASH_EXIT_CODE } from './crash-on-unknown-region.js';
import { FAULTS, UnknownFaultError, faultHooks, findFault, formatFaultList } from './registry.js';

const NEED = HeaderFlag.VERSION | HeaderFlag.NEED_REPLY;
const raw = (request: number, body: Uint8Array = new Uint8Array(0), o: { flags?: number; fds?: number[] } = {}): RawMessage => ({
  request, flags: o.flags ?? HeaderFlag.VERSION, size: body.byteLength, body, fds: o.fds ?? [],
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A pair with the given faults (exit recorded instead of ending the test process). */
function faulty(names: string[], exits: number[] = []): Pair {
  return startPair({ hooks: faultHooks(names, { exit: (c) => void exits.push(c) }) });
}

async function withReplyAck(p: Pair): Promise<void> {
  await p.session.getFeatures();
  await p.session.setProtocolFeatures(featureMask(ProtocolFeature.REPLY_ACK, ProtocolFeature.MQ, ProtocolFeature.CONFIGURE_MEM_SLOTS));
}

/** Sends `msg` and returns the next frame, or undefined when none came within `ms`. */
async function answer(p: Pair, msg: RawMessage, ms = 3000): Promise<RawMessage | undefined> {
  p.session.sendRaw(msg);
  try {
    return await p.session.receiveRaw(ms);
  } catch {
    return undefined;
  }
}

describe('fault registry', () => {
  it('lists every fault with requirement ids and case prefixes, names unique', () => {
    const names = FAULTS.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of ['ack-unoffered-features', 'drop-reply-ack', 'wrong-reply-flags', 'wrong-ring-base', 'double-used', 'write-readable',
      'write-after-return', 'process-after-stop', 'stale-memory-table', 'crash-on-unknown-region', 'hang-on-oversize', 'leak-fds',
      'lose-ring-state-on-reconnect', 'no-reconnect', 'ignore-disable', 'nack-everything', 'indirect-unserviced']) expect(names).toContain(n);
    for (const f of FAULTS) {
      expect(f.violates.length).toBeGreaterThan(0);
      for (const id of f.violates) expect(id).toMatch(/^VU-[A-Z]+-\d{3}$/);
      // Either some case catches the fault, or the registry says why none does yet.
      expect(f.caughtBy.length > 0 !== (f.uncaught !== undefined)).toBe(true);
    }
    expect(formatFaultList()).toContain('VU-RING-004');
    expect(() => faultHooks(['no-such-fault'])).toThrow(UnknownFaultError);
    expect(findFault('leak-fds')?.violates).toContain('VU-MSG-010');
  });
});

describe('faults change the back-end as described', () => {
  let pair: Pair | undefined;
  let dev: NetDevice | undefined;
  afterEach(async () => {
    dev?.close();
    dev = undefined;
    await pair?.stop();
    pair = undefined;
  });

  it('ack-unoffered-features: an unoffered bit is acked 0 (plain back-end: non-zero)', async () => {
    const bit63 = payloads.u64.encode(1n << 63n);
    pair = startPair();
    await withReplyAck(pair);
    expect(payloads.u64.decode((await answer(pair, raw(FrontendRequest.SET_FEATURES, bit63, { flags: NEED })))!.body)).not.toBe(0n);
    await pair.stop();
    pair = faulty(['ack-unoffered-features']);
    await withReplyAck(pair);
    expect(payloads.u64.decode((await answer(pair, raw(FrontendRequest.SET_FEATURES, bit63, { flags: NEED })))!.body)).toBe(0n);
  });

  it('drop-reply-ack: no ack arrives, the next always-reply request is still answered', async () => {
    pair = faulty(['drop-reply-ack']);
    await withReplyAck(pair);
    expect(await answer(pair, raw(FrontendRequest.SET_OWNER, undefined, { flags: NEED }), 300)).toBeUndefined();
    expect(await pair.session.getFeatures()).toBeGreaterThan(0n);
  });

  it('nack-everything: a successful SET_OWNER is acked 1', async () => {
    pair = faulty(['nack-everything']);
    await pair.session.getFeatures();
    // SET_PROTOCOL_FEATURES turning REPLY_ACK on acks itself: already 1.
    const r = await answer(pair, raw(FrontendRequest.SET_PROTOCOL_FEATURES, payloads.u64.encode(featureMask(ProtocolFeature.REPLY_ACK)), { flags: NEED }));
    expect(payloads.u64.decode(r!.body)).toBe(1n);
    expect(payloads.u64.decode((await answer(pair, raw(FrontendRequest.SET_OWNER, undefined, { flags: NEED })))!.body)).toBe(1n);
  });

  it('wrong-reply-flags: replies carry 0xd', async () => {
    pair = faulty(['wrong-reply-flags']);
    const r = await answer(pair, raw(FrontendRequest.GET_FEATURES));
    expect(r?.flags).toBe(REPLY_FLAGS | HeaderFlag.NEED_REPLY);
  });

  it('wrong-ring-base: GET_VRING_BASE answers the base plus one', async () => {
    pair = faulty(['wrong-ring-base']);
    await pair.session.setVringBase(0, 41);
    expect(await pair.session.getVringBase(0)).toBe(42);
  });

  it('double-used, write-readable and write-after-return corrupt a traffic run that is clean without them', async () => {
    pair = startPair();
    dev = await NetDevice.start(pair.session, { queueSize: 64 });
    const clean = await runTraffic(dev, { packets: 400, size: 64, idleTimeoutMs: 300 });
    expect(clean).toMatchObject({ received: 400, duplicated: 0, corrupted: 0, violations: [] });
    for (const name of ['double-used', 'write-readable', 'write-after-return']) {
      dev.close();
      await pair.stop();
      pair = faulty([name]);
      dev = await NetDevice.start(pair.session, { queueSize: 64 });
      const r = await runTraffic(dev, { packets: 400, size: 64, idleTimeoutMs: 300, warmUpTimeoutMs: 0 });
      const harm = r.duplicated + r.corrupted + r.violations.length + r.lost;
      expect(harm, `${name}: ${JSON.stringify(r)}`).toBeGreaterThan(0);
      if (name !== 'double-used') expect(r.corrupted, name).toBeGreaterThan(0);
      else expect(r.duplicated + r.violations.length, name).toBeGreaterThan(0);
    }
  });

  it('process-after-stop: a TX buffer made available after GET_VRING_BASE is still consumed', async () => {
    for (const faultOn of [false, true]) {
      pair = faultOn ? faulty(['process-after-stop']) : startPair();
      dev = await NetDevice.start(pair.session, { queueSize: 64 });
      await dev.stop();
      const tx = dev.pairs[0].tx;
      tx.driver.addSingle(dev.pairs[0].txBuffers.addr, 12 + 60, false);
      tx.driver.publish();
      eventfdWrite(tx.kickFd);
      await sleep(150);
      const out = { id: 0, len: 0 };
      expect(tx.driver.popUsedInto(out), `fault ${faultOn}`).toBe(faultOn);
      dev.close();
      dev = undefined;
      await pair.stop();
      pair = undefined;
    }
  });

  it('stale-memory-table: a new table that moves guest memory is acked but not used (plain back-end re-translates and refuses the rings)', async () => {
    for (const faultOn of [false, true]) {
      pair = faultOn ? faulty(['stale-memory-table']) : startPair();
      dev = await NetDevice.start(pair.session, { queueSize: 64 });
      const elsewhere = MemfdGuestMemory.create([{ guestPhysAddr: 0x4_0000_0000, size: 1 << 20 }], { name: 'elsewhere' });
      try {
        // SET_MEM_TABLE itself (sendMemoryTable would use ADD_MEM_REG with CONFIGURE_MEM_SLOTS).
        const r0 = elsewhere.regions[0];
        const region = { guestPhysAddr: BigInt(r0.guestPhysAddr), memorySize: BigInt(r0.size), userspaceAddr: BigInt(r0.userAddr), mmapOffset: BigInt(r0.mmapOffset) };
        await pair.session.command(FrontendRequest.SET_MEM_TABLE, payloads.memoryTable.encode({ regions: [region] }), [r0.fd!]);
      } finally {
        elsewhere.close();
      }
      const r = await runTraffic(dev, { packets: 100, size: 64, idleTimeoutMs: 300, warmUpTimeoutMs: 0 });
      if (faultOn) {
        expect(r.received).toBe(100);
        expect(pair.violations).toEqual([]);
      } else {
        expect(r.received).toBe(0);
        expect(pair.violations.some((v) => v.rule === 'VU-MEM-008')).toBe(true);
      }
      dev.close();
      dev = undefined;
      await pair.stop();
      pair = undefined;
    }
  });

  it('crash-on-unknown-region: a descriptor outside guest memory ends the process with 134', async () => {
    const exits: number[] = [];
    pair = faulty(['crash-on-unknown-region'], exits);
    dev = await NetDevice.start(pair.session, { queueSize: 64 });
    const tx = dev.pairs[0].tx;
    tx.driver.addSingle(0x1000, 72, false); // below the only region (GPA 4 GiB)
    tx.driver.publish();
    eventfdWrite(tx.kickFd);
    for (let i = 0; i < 50 && exits.length === 0; i++) await sleep(20);
    expect(exits).toEqual([CRASH_EXIT_CODE]);
    expect(pair.violations.some((v) => v.rule === 'VU-DP-014')).toBe(true);
  });

  it('hang-on-oversize: after an oversize message nothing is answered, the connection stays open', async () => {
    pair = faulty(['hang-on-oversize']);
    expect(await answer(pair, raw(FrontendRequest.GET_FEATURES, new Uint8Array(0xffff)), 300)).toBeUndefined();
    expect(await answer(pair, raw(FrontendRequest.GET_FEATURES), 300)).toBeUndefined();
    const race = await Promise.race([pair.ended.then(() => 'ended'), sleep(100).then(() => 'open')]);
    expect(race).toBe('open');
  });

  it('leak-fds: an fd sent on GET_FEATURES stays open (plain back-end closes it)', async () => {
    for (const faultOn of [false, true]) {
      pair = faultOn ? faulty(['leak-fds']) : startPair();
      const probe = leakProbe();
      try {
        await answer(pair, raw(FrontendRequest.GET_FEATURES, undefined, { fds: [probe.writeFd] }));
        expect(await probe.closedByPeer(faultOn ? 300 : 2000)).toBe(!faultOn);
      } finally {
        probe.dispose();
      }
      await pair.stop();
      pair = undefined;
    }
  });

  it('lose-ring-state-on-reconnect: a restarted TX ring loops its old frames again (plain back-end does not)', async () => {
    for (const faultOn of [false, true]) {
      pair = faultOn ? faulty(['lose-ring-state-on-reconnect']) : startPair();
      dev = await NetDevice.start(pair.session, { queueSize: 64 });
      await runTraffic(dev, { packets: 20, size: 64, idleTimeoutMs: 300 });
      const bases = await dev.stop();
      const looped = pair.device.counters.looped + pair.device.counters.dropped;
      const tx = dev.pairs[0].tx;
      await startRing(pair.session, dev.memory, { index: 1, size: 64, ...tx.layout, base: bases.find((b) => b.index === 1)!.base, kickFd: tx.kickFd, callFd: tx.callFd });
      await sleep(150);
      const again = pair.device.counters.looped + pair.device.counters.dropped - looped;
      if (faultOn) expect(again).toBeGreaterThan(0);
      else expect(again).toBe(0);
      dev.close();
      dev = undefined;
      await pair.stop();
      pair = undefined;
    }
  });

  it('no-reconnect: a --client back-end does not come back after its first session ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vhl-fault-'));
    const path = join(dir, 'fe.sock');
    for (const faultOn of [false, true]) {
      rmSync(path, { force: true });
      const listen = unixListen(path);
      const client = BackendClient.connect(path, { device: new NetLoopbackDevice(), ...(faultOn ? { hooks: faultHooks(['no-reconnect']) } : {}) });
      try {
        const first = await acceptAsync(listen, 3000);
        new Connection(first).close();
        let second: number | undefined;
        try {
          second = await acceptAsync(listen, 1000);
        } catch {
          second = undefined;
        }
        if (second !== undefined) closeFd(second);
        expect(second !== undefined, `fault ${faultOn}`).toBe(!faultOn);
      } finally {
        await client.close();
        closeFd(listen);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('ignore-disable: frames flow through a disabled RX ring (plain back-end drops them)', async () => {
    for (const faultOn of [false, true]) {
      pair = faultOn ? faulty(['ignore-disable']) : startPair();
      dev = await NetDevice.start(pair.session, { queueSize: 64 });
      await pair.session.setVringEnable(0, false);
      const r = await runTraffic(dev, { packets: 50, size: 64, idleTimeoutMs: 300, warmUpTimeoutMs: 0 });
      expect(r.received, `fault ${faultOn}`).toBe(faultOn ? 50 : 0);
      dev.close();
      dev = undefined;
      await pair.stop();
      pair = undefined;
    }
  });
});
