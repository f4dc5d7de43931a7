import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PACKED_EVENT, PackedDescFlag, PackedEventFlag } from '../wire/ring-layout.js';
import { Chain } from './chain-walker.js';
import { PackedQueueDevice } from './packed-device.js';
import { PackedQueueDriver, type BufferSpec } from './packed-driver.js';
import { QueueConfigError } from './queue-config.js';
import { allocIn, testMemory } from './__test-helpers__/test-memory.js';

const RINGS = 0x1000;
const BUFS = 0x40_0000;
const PER_ID = 256;

function pair(size: number, opts: { eventIdx?: boolean; indirect?: boolean; inOrder?: boolean } = {}) {
  const mem = testMemory([[0, 0x30_0000], [BUFS, PER_ID * 32768]]);
  const drv = PackedQueueDriver.create(mem, allocIn(mem, RINGS, 0x30_0000), { size, maxIndirect: 8, ...opts });
  const dev = PackedQueueDevice.fromConfig(mem, drv.vringConfig());
  return { mem, drv, dev };
}

const chainOf = (r: unknown): Chain => {
  if (!(r instanceof Chain)) throw new Error(`expected a chain, got ${String(r)}`);
  return r;
};

describe('PackedQueueDriver: layout', () => {
  it('places a 16-aligned ring and 4-aligned event areas and zeroes them', () => {
    const mem = testMemory([[0, 0x1_0000]]);
    mem.slice(0, 0x1_0000).fill(0xff);
    const drv = PackedQueueDriver.create(mem, allocIn(mem, 3, 0x1_0000), { size: 3 });
    expect(drv.descAddr % 16).toBe(0);
    expect(drv.driverEventAddr % 4).toBe(0);
    expect(drv.deviceEventAddr % 4).toBe(0);
    expect([...mem.read(drv.descAddr, 48)].every((b) => b === 0)).toBe(true);
    expect(mem.readU32(drv.driverEventAddr)).toBe(0);
    expect(drv.vringConfig()).toMatchObject({ format: 'packed', size: 3, availAddr: drv.driverEventAddr, usedAddr: drv.deviceEventAddr });
  });

  it('rejects sizes outside 1..32768', () => {
    const mem = testMemory([[0, 0x1000]]);
    expect(() => PackedQueueDriver.create(mem, allocIn(mem, 0, 0x1000), { size: 0 })).toThrow(QueueConfigError);
  });
});

describe('PackedQueueDriver ↔ PackedQueueDevice', () => {
  it('publishes a head only on publish(), head flags last', () => {
    const { mem, drv, dev } = pair(4);
    const id = drv.addChain([{ addr: BUFS, len: 4, write: false }, { addr: BUFS + 8, len: 4, write: true }]);
    expect(id).toBe(0);
    expect(mem.readU16(drv.descAddr + 16 + 14)).toBe(PackedDescFlag.AVAIL | PackedDescFlag.WRITE); // tail written
    expect(mem.readU16(drv.descAddr + 14)).toBe(0); // head not yet
    expect(dev.pop()).toBeUndefined();
    drv.publish();
    const c = chainOf(dev.pop());
    expect(c.head).toBe(0);
    expect(c.ringSlots).toBe(2);
  });

  it.each([1, 3, 255, 1000])('runs many laps on a ring of %i with out-of-order completion', (size) => {
    const { drv, dev } = pair(size, { indirect: true });
    const returned: number[] = [];
    const expected: number[] = [];
    const out = { id: 0, len: 0 };
    let seq = 0;
    for (let lap = 0; lap < 6; lap++) {
      // Fill the ring with a mix of singles, chains and indirect chains.
      for (;;) {
        const base = BUFS + PER_ID * drv.inFlight;
        const kind = seq % 3;
        const bufs: BufferSpec[] = [{ addr: base, len: 8, write: false }, { addr: base + 64, len: 16, write: true }];
        const id = kind === 0 ? drv.addSingle(base, 8, false) : kind === 1 ? drv.addChain(bufs) : drv.addIndirect(size >= 2 ? bufs : bufs.slice(0, 1)); // tables ≤ queue size
        if (id < 0) {
          if (kind === 1 && drv.freeSlots === 1) {
            seq++; // a 2-slot chain does not fit in the last slot; try a single
            continue;
          }
          break;
        }
        expected.push(id);
        seq++;
      }
      drv.publish();
      const held: Chain[] = [];
      for (;;) {
        const c = dev.pop();
        if (c === undefined) break;
        const ch = chainOf(c);
        expect(ch.ringSlots).toBeLessThanOrEqual(size);
        const copy = new Chain();
        copy.head = ch.head;
        copy.ringSlots = ch.ringSlots;
        copy.writableBytes = ch.writableBytes;
        held.push(copy);
      }
      // Complete in reverse order: packed rings allow out-of-order completion.
      const done = held.reverse();
      for (const c of done) dev.pushUsed(c.head, c.writableBytes > 0 ? 3 : 0, c.ringSlots);
      dev.flushUsed();
      const order: number[] = [];
      while (drv.popUsedInto(out)) {
        order.push(out.id);
        returned.push(out.id);
      }
      expect(order).toEqual(done.map((c) => c.head));
      expect(drv.inFlight).toBe(0);
      expect(drv.freeSlots).toBe(size);
    }
    expect(returned.slice().sort((a, b) => a - b)).toEqual(expected.slice().sort((a, b) => a - b));
    expect(drv.tracker.violations).toEqual([]);
  });

  it('decides kicks from the device event area (DISABLE, DESC with EVENT_IDX)', () => {
    const { drv, dev } = pair(4, { eventIdx: true });
    drv.addSingle(BUFS, 1, false);
    drv.publish();
    expect(drv.needsKick()).toBe(true); // flags 0 = ENABLE
    dev.setNotification(false);
    drv.addSingle(BUFS, 1, false);
    drv.publish();
    expect(drv.needsKick()).toBe(false);
    expect(drv.needsKick()).toBe(false); // nothing new
    expect(dev.setNotification(true)).toBe(true); // DESC at slot 0: the device has not popped yet
    drv.addSingle(BUFS, 1, false);
    drv.publish();
    expect(drv.needsKick()).toBe(false); // slot 2 does not cover the event at slot 0
    while (dev.pop() !== undefined);
    drv.addSingle(BUFS, 1, false); // slot 3, the device asked for it
    drv.publish();
    expect(drv.needsKick()).toBe(true);
  });

  it('suppresses interrupts through the driver event area, re-arming at the next used slot', () => {
    const { mem, drv, dev } = pair(2, { eventIdx: true });
    const round = (): boolean => {
      drv.addSingle(BUFS, 1, false);
      drv.publish();
      const c = chainOf(dev.pop());
      dev.pushUsed(c.head, 0, c.ringSlots);
      dev.flushUsed();
      return dev.needsNotify();
    };
    drv.setInterrupts(false);
    expect(mem.readU16(drv.driverEventAddr + PACKED_EVENT.FLAGS)).toBe(PackedEventFlag.DISABLE);
    expect(round()).toBe(false);
    expect(drv.setInterrupts(true)).toBe(true); // a used buffer is already waiting
    expect(mem.readU16(drv.driverEventAddr + PACKED_EVENT.FLAGS)).toBe(PackedEventFlag.DESC);
    expect(drv.pollUsed()).toMatchObject({ written: false, len: 0 });
    drv.setInterrupts(true); // event at slot 1, wrap 1
    expect(round()).toBe(true);
    expect(round()).toBe(false); // not re-armed: slot 0 of wrap 0 is past the event
    expect(drv.pollUsed()).toBeDefined();
    expect(drv.pollUsed()).toBeDefined();
    drv.setInterrupts(true); // event at slot 1, wrap 0
    expect(round()).toBe(true);
  });

  it('records a used descriptor for an id not in flight and stops (VU-PK-003)', () => {
    const { drv, dev } = pair(4);
    drv.addSingle(BUFS, 1, false);
    drv.publish();
    dev.pop();
    dev.pushUsed(3, 0, 1);
    dev.flushUsed();
    expect(drv.pollUsed()).toBeUndefined();
    expect(drv.tracker.violations.map((v) => v.rule)).toEqual(['VU-PK-003']);
    expect(drv.addSingle(BUFS, 1, false)).toBe(-1);
  });
});

// ---- Property: random operation sequences keep the ring's invariants. ----

type Op =
  | { k: 'add'; shape: 'single' | 'chain' | 'indirect'; reads: number; write: boolean }
  | { k: 'publish' }
  | { k: 'pop' }
  | { k: 'push'; pick: number }
  | { k: 'flush' }
  | { k: 'poll' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('add' as const), shape: fc.constantFrom('single' as const, 'chain' as const, 'indirect' as const), reads: fc.integer({ min: 0, max: 3 }), write: fc.boolean() }),
  fc.constant({ k: 'publish' as const }),
  fc.constant({ k: 'pop' as const }),
  fc.record({ k: fc.constant('push' as const), pick: fc.nat() }),
  fc.constant({ k: 'flush' as const }),
  fc.constant({ k: 'poll' as const }),
);

interface Added { id: number; seq: number; slots: number; readable: number; writable: number }

function runOps(size: number, ops: readonly Op[]): void {
  const { mem, drv, dev } = pair(size, { indirect: true });
  const MAX_IND = Math.min(8, size);
  const inFlight = new Map<number, Added>(); // driver's view
  const unpublished: Added[] = [];
  const published: Added[] = []; // published, not yet popped, in ring order
  const held: Added[] = []; // popped by the device
  const pushed: Array<{ a: Added; len: number }> = []; // pushed, not flushed
  const visible: Array<{ a: Added; len: number }> = []; // flushed, not polled
  const everAdded = new Set<number>();
  const returnedSeqs: number[] = [];
  let free = size;
  let seq = 0;
  const out = { id: 0, len: 0 };

  const step = (op: Op): void => {
    switch (op.k) {
      case 'add': {
        const reads = op.shape === 'single' ? (op.write ? 0 : 1) : op.reads;
        const write = op.shape === 'single' ? op.write : op.write || reads === 0;
        const n = reads + (write ? 1 : 0);
        if (op.shape === 'indirect' && n > MAX_IND) return;
        const slots = op.shape === 'chain' ? n : 1;
        // Each add gets its own 256-byte slice, so a buffer in flight is never overwritten.
        const base = BUFS + PER_ID * seq;
        const bufs: BufferSpec[] = [];
        for (let i = 0; i < reads; i++) bufs.push({ addr: base + 8 * i, len: 8, write: false });
        if (write) bufs.push({ addr: base + 128, len: 16, write: true });
        for (let i = 0; i < reads; i++) mem.slice(base + 8 * i, 8).fill((seq + i) & 0xff);
        const id = op.shape === 'single' ? drv.addSingle(bufs[0].addr, bufs[0].len, write) : op.shape === 'chain' ? drv.addChain(bufs) : drv.addIndirect(bufs);
        if (slots > free) {
          expect(id).toBe(-1);
          for (let i = 0; i < reads; i++) mem.slice(base + 8 * i, 8).fill(0);
          return;
        }
        expect(id).toBeGreaterThanOrEqual(0);
        expect(id).toBeLessThan(size);
        expect(inFlight.has(id)).toBe(false); // never two chains under one id
        const a: Added = { id, seq: seq++, slots, readable: 8 * reads, writable: write ? 16 : 0 };
        free -= slots;
        inFlight.set(id, a);
        unpublished.push(a);
        everAdded.add(a.seq);
        return;
      }
      case 'publish':
        drv.publish();
        published.push(...unpublished.splice(0));
        return;
      case 'pop': {
        const r = dev.pop();
        const exp = published.shift();
        if (exp === undefined) {
          expect(r).toBeUndefined();
          return;
        }
        const c = chainOf(r);
        expect(c.head).toBe(exp.id);
        expect(c.ringSlots).toBe(exp.slots);
        expect(c.ringSlots).toBeLessThanOrEqual(size);
        expect(c.readableBytes).toBe(exp.readable);
        expect(c.writableBytes).toBe(exp.writable);
        const data = c.readAll();
        for (let i = 0; i < data.length; i++) expect(data[i]).toBe((exp.seq + (i >> 3)) & 0xff);
        held.push(exp);
        return;
      }
      case 'push': {
        if (held.length === 0) return;
        const [a] = held.splice(op.pick % held.length, 1);
        const len = Math.min(a.writable, 1 + (a.seq % 16));
        dev.pushUsed(a.id, len, a.slots);
        pushed.push({ a, len });
        return;
      }
      case 'flush':
        dev.flushUsed();
        visible.push(...pushed.splice(0));
        return;
      case 'poll': {
        const got = drv.popUsedInto(out);
        const exp = visible.shift();
        if (exp === undefined) {
          expect(got).toBe(false);
          return;
        }
        expect(got).toBe(true);
        expect(out).toMatchObject({ id: exp.a.id, len: exp.len });
        expect(inFlight.get(out.id)).toBe(exp.a);
        inFlight.delete(out.id);
        free += exp.a.slots;
        returnedSeqs.push(exp.a.seq);
        return;
      }
    }
  };

  for (const op of ops) step(op);
  // Drain: everything added comes back exactly once.
  step({ k: 'publish' });
  while (published.length > 0) step({ k: 'pop' });
  while (held.length > 0) step({ k: 'push', pick: 0 });
  step({ k: 'flush' });
  while (visible.length > 0) step({ k: 'poll' });
  step({ k: 'poll' });
  expect(returnedSeqs.length).toBe(everAdded.size);
  expect(new Set(returnedSeqs)).toEqual(everAdded);
  expect(drv.inFlight).toBe(0);
  expect(drv.freeSlots).toBe(size);
  expect(drv.tracker.violations).toEqual([]);
}

describe('packed driver/device property', () => {
  it('every id comes back exactly once, in used order, and no chain exceeds the ring', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3, 7, 255, 1000), fc.array(opArb, { maxLength: 400 }), (size, ops) => runOps(size, ops)),
      { numRuns: 150 },
    );
  });

  it('holds over many laps of a small ring', () => {
    const lap: Op[] = [
      { k: 'add', shape: 'chain', reads: 1, write: true },
      { k: 'add', shape: 'single', reads: 1, write: false },
      { k: 'add', shape: 'indirect', reads: 2, write: true },
      { k: 'publish' }, { k: 'pop' }, { k: 'pop' }, { k: 'pop' },
      { k: 'push', pick: 1 }, { k: 'push', pick: 0 }, { k: 'flush' }, { k: 'poll' }, { k: 'poll' },
      { k: 'push', pick: 0 }, { k: 'flush' }, { k: 'poll' },
    ];
    for (const size of [1, 3, 4]) runOps(size, Array.from({ length: 40 }, () => lap).flat());
  });
});

describe('PackedQueueDriver under IN_ORDER', () => {
  it('retires a batch completed by one used descriptor in avail order, the last with its len', () => {
    const { drv, dev } = pair(8, { inOrder: true });
    // Chains of 1, 2 and 1 slots; the device completes all three with the third's id.
    const ids = [
      drv.addChain([{ addr: BUFS, len: 8, write: false }]),
      drv.addChain([{ addr: BUFS + 256, len: 8, write: false }, { addr: BUFS + 512, len: 8, write: false }]),
      drv.addChain([{ addr: BUFS + 768, len: 16, write: true }]),
    ];
    drv.publish();
    const chains = ids.map(() => chainOf(dev.pop()));
    dev.pushUsed(chains[2].head, 12, chains.reduce((n, c) => n + c.ringSlots, 0));
    dev.flushUsed();
    const got = [drv.pollUsed(), drv.pollUsed(), drv.pollUsed(), drv.pollUsed()];
    expect(got.slice(0, 3)).toEqual([
      { id: ids[0], len: 0, written: false },
      { id: ids[1], len: 0, written: false },
      { id: ids[2], len: 12, written: true },
    ]);
    expect(got[3]).toBeUndefined();
    expect(drv.batchedBuffers).toBe(2);
    expect(drv.freeSlots).toBe(8);
    expect(drv.tracker.violations).toEqual([]);
    // The ring goes on from the right position: the next chain and its completion line up.
    const next = drv.addChain([{ addr: BUFS, len: 8, write: false }]);
    drv.publish();
    const c = chainOf(dev.pop());
    dev.pushUsed(c.head, 0, c.ringSlots);
    dev.flushUsed();
    expect(drv.pollUsed()).toEqual({ id: next, len: 0, written: false });
  });

  it('stops on a used descriptor naming an id that is not in flight (VU-PK-003)', () => {
    const { drv, dev } = pair(4, { inOrder: true });
    drv.addChain([{ addr: BUFS, len: 8, write: false }]);
    drv.publish();
    const c = chainOf(dev.pop());
    dev.pushUsed(3, 0, c.ringSlots);
    dev.flushUsed();
    expect(drv.pollUsed()).toBeUndefined();
    expect(drv.tracker.violations).toMatchObject([{ rule: 'VU-PK-003', head: 3 }]);
  });
});
