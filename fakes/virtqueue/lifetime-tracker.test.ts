import { describe, expect, it } from 'vitest';
import { ArrayGuestMemory } from '../memory/array-guest-memory.js';
import { GuestAllocator } from '../memory/allocator.js';
import { LifetimeTracker } from './lifetime-tracker.js';
import type { LifetimeTrackerOptions } from './lifetime-tracker.js';
import { SplitQueueDriver } from './split-driver.js';
import { TinySplitDevice } from './__test-helpers__/tiny-split-device.js';

const BUF = 0x40_0000;

function setup(tracker: LifetimeTrackerOptions = {}, size = 8) {
  const mem = new ArrayGuestMemory([
    { guestPhysAddr: 0, size: 0x10_0000 },
    { guestPhysAddr: BUF, size: 0x10_0000 },
  ]);
  const q = SplitQueueDriver.create(mem, new GuestAllocator(mem, { end: 0x10_0000 }), { size, indirect: true, tracker });
  return { mem, q, dev: new TinySplitDevice(mem, q.layout) };
}

/** TX-like readable chain and RX-like writable buffer, published. */
function postMix(q: SplitQueueDriver, mem: ArrayGuestMemory) {
  mem.slice(BUF, 0x100).fill(0x11);
  const tx = q.addChain([
    { addr: BUF, len: 12, writable: false },
    { addr: BUF + 12, len: 52, writable: false },
  ])!;
  const rx = q.addSingle(BUF + 0x1000, 0x800, true);
  const ind = q.addChain(
    [
      { addr: BUF + 0x80, len: 16, writable: false },
      { addr: BUF + 0x2000, len: 0x100, writable: true },
    ],
    { indirect: true },
  )!;
  q.publish();
  return { tx, rx, ind };
}

const kinds = (q: SplitQueueDriver): string[] => q.tracker.violations.map((v) => `${v.kind} ${v.rule}`);

describe('LifetimeTracker with a correct device', () => {
  it('reports nothing, with readable checks and canaries on, over many rounds', () => {
    const { mem, q, dev } = setup({ checkReadable: true });
    for (let round = 0; round < 50; round++) {
      postMix(q, mem);
      dev.serve(round & 0xff);
      const returned: number[] = [];
      while (true) {
        const u = q.popUsed();
        if (u === undefined) break;
        returned.push(u.id);
        q.tracker.arm(u.id);
      }
      expect(returned.length).toBe(3);
      // The correct device leaves returned buffers alone.
      expect(q.tracker.recheckCanaries()).toBe(0);
    }
    expect(q.tracker.violations).toEqual([]);
    expect(q.tracker.returned).toBe(150);
  });
});

describe('LifetimeTracker catches each kind of broken device', () => {
  it('a used id that is not a descriptor index → bad-id VU-DP-008', () => {
    const { mem, q, dev } = setup();
    postMix(q, mem);
    dev.poll();
    dev.pushUsed(8, 0);
    dev.pushUsed(0xffff_ffff, 0);
    expect(q.popUsed()).toBeUndefined();
    expect(kinds(q)).toEqual(['bad-id VU-DP-008', 'bad-id VU-DP-008']);
    expect(q.tracker.violations[0].head).toBeUndefined();
  });

  it('a device that consumes a staged, unpublished head → not-available VU-DP-019', () => {
    const { mem, q, dev } = setup();
    postMix(q, mem);
    const staged = q.addSingle(BUF + 0x3000, 64, true);
    // Broken device: reads the ring slot past avail->idx.
    const slot = dev.availSlot(dev.availIdx());
    expect(slot).toBe(staged);
    dev.pushUsed(slot, 0);
    expect(q.popUsed()).toBeUndefined();
    expect(kinds(q)).toEqual(['not-available VU-DP-019']);
    expect(q.tracker.violations[0].head).toBe(staged);
    expect(q.tracker.violations[0].detail).toMatch(/before the driver published/);
    // The driver still owns it: publishing and a proper return work.
    q.publish();
    dev.serve();
    let n = 0;
    while (q.popUsed() !== undefined) n++;
    expect(n).toBe(4);
    expect(q.tracker.violations.length).toBe(1);
  });

  it('a head that was never made available → not-available VU-DP-019', () => {
    const { mem, q, dev } = setup();
    postMix(q, mem);
    dev.pushUsed(6, 0);
    q.popUsed();
    expect(kinds(q)).toEqual(['not-available VU-DP-019']);
    expect(q.tracker.violations[0].detail).toMatch(/never made available/);
  });

  it('the same head returned twice → used-twice VU-DP-019', () => {
    const { mem, q, dev } = setup();
    const { rx } = postMix(q, mem);
    dev.poll();
    dev.pushUsed(rx, 0x800);
    dev.pushUsed(rx, 0x800);
    expect(q.popUsed()).toEqual({ id: rx, len: 0x800 });
    expect(q.popUsed()).toBeUndefined();
    expect(kinds(q)).toEqual(['used-twice VU-DP-019']);
    expect(q.tracker.violations[0].head).toBe(rx);
  });

  it('used.len larger than the writable bytes → len-too-large VU-DP-008 (TX chain with len > 0 too)', () => {
    const { mem, q, dev } = setup();
    const { tx, rx, ind } = postMix(q, mem);
    dev.poll();
    dev.pushUsed(rx, 0x801);
    dev.pushUsed(ind, 0x100); // exactly the writable part: fine
    dev.pushUsed(tx, 1); // read-only chain: 0 writable bytes
    while (q.popUsed() !== undefined);
    expect(kinds(q)).toEqual(['len-too-large VU-DP-008', 'len-too-large VU-DP-008']);
    expect(q.tracker.violations.map((v) => v.head)).toEqual([rx, tx]);
    expect(q.freeCount).toBe(8); // the chains were still returned and freed
  });

  it('a device that writes a device-readable buffer → readable-modified VU-DP-006 (opt-in)', () => {
    for (const checkReadable of [true, false]) {
      const { mem, q, dev } = setup({ checkReadable });
      const { ind } = postMix(q, mem);
      const chains = dev.serve();
      const indirect = chains.find((c) => c.head === ind)!;
      mem.slice(indirect.segments[0].addr + 5, 1)[0] ^= 0xff; // scribbles on the readable part
      while (q.popUsed() !== undefined);
      expect(kinds(q)).toEqual(checkReadable ? ['readable-modified VU-DP-006'] : []);
      if (checkReadable) expect(q.tracker.violations[0].detail).toMatch(/offset 5/);
    }
  });

  it('a device that writes a buffer after returning it → write-after-return VU-DP-020 (canaries)', () => {
    const { mem, q, dev } = setup();
    const { rx } = postMix(q, mem);
    dev.serve();
    const returned: number[] = [];
    for (let u = q.popUsed(); u !== undefined; u = q.popUsed()) {
      returned.push(u.id);
      q.tracker.arm(u.id);
    }
    expect(returned).toContain(rx);
    expect(q.tracker.armedCount).toBe(2); // rx and the writable half of the indirect chain
    expect(q.tracker.recheckCanaries()).toBe(0);
    mem.slice(BUF + 0x1000 + 0x7ff, 1)[0] = 0; // late DMA into the last byte of the RX buffer
    expect(q.tracker.recheckCanaries()).toBe(1);
    expect(kinds(q)).toEqual(['write-after-return VU-DP-020']);
    expect(q.tracker.violations[0].head).toBe(rx);
    expect(q.tracker.violations[0].detail).toMatch(/offset 2047/);
    expect(q.tracker.armedCount).toBe(1);
  });

  it('re-adding an armed buffer disarms it, so the next legitimate write is not reported', () => {
    const { q, dev } = setup();
    const h = q.addSingle(BUF, 64, true);
    q.publish();
    dev.serve();
    q.popUsed();
    q.tracker.arm(h);
    expect(() => q.tracker.arm(h + 1)).toThrow(RangeError); // never returned
    q.addSingle(BUF + 32, 64, true); // overlaps the armed buffer
    expect(q.tracker.armedCount).toBe(0);
    q.publish();
    dev.serve(0x77);
    q.popUsed();
    expect(q.tracker.recheckCanaries()).toBe(0);
    expect(q.tracker.violations).toEqual([]);
  });
});

describe('LifetimeTracker bookkeeping', () => {
  it('keeps at most maxViolations and counts the rest', () => {
    const { mem, q, dev } = setup({ maxViolations: 3 });
    postMix(q, mem);
    for (let i = 0; i < 5; i++) dev.pushUsed(100 + i, 0);
    q.popUsed();
    expect(q.tracker.violations.length).toBe(3);
    expect(q.tracker.dropped).toBe(2);
    q.tracker.clearViolations();
    expect([q.tracker.violations.length, q.tracker.dropped]).toEqual([0, 0]);
  });

  it('can be driven directly by buffer id (as a packed driver would)', () => {
    const mem = new ArrayGuestMemory([{ guestPhysAddr: 0, size: 0x1000 }]);
    const t = new LifetimeTracker(mem, 4);
    t.onAddSingle(2, 0x100, 64, true);
    expect(t.onUsed(2, 10)).toBe(false); // not published yet
    t.onPublish(2);
    expect(t.onUsed(2, 64)).toBe(true);
    expect(t.onUsed(2, 64)).toBe(false);
    expect(t.violations.map((v) => v.kind)).toEqual(['not-available', 'used-twice']);
    t.onReset();
    expect(t.onUsed(2, 0)).toBe(false);
    expect(t.violations[2].detail).toMatch(/never made available/);
  });
});
