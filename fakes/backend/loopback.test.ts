import { afterEach, describe, expect, it } from 'vitest';
import { NetDevice, runTraffic } from '../frontend/index.js';
import type { PackedQueueDriver } from '../virtqueue/index.js';
import { VirtioFeature, featureMask } from '../wire/index.js';
import { strictHooks } from './strict/strict-hooks.js';
import { startPair, type Pair } from './__test-helpers__/pair.js';

describe('net loopback through the reference back-end (in-process, memfd memory)', () => {
  let pair: Pair | undefined;
  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
  });

  it('loops every frame of one queue pair back intact', async () => {
    pair = startPair();
    const dev = await NetDevice.start(pair.session, { queuePairs: 1, queueSize: 256 });
    try {
      const r = await runTraffic(dev, { packets: 20_000, size: 64 });
      expect(r).toMatchObject({ sent: 20_000, received: 20_000, lost: 0, duplicated: 0, corrupted: 0, violations: [] });
      expect(pair.device.counters.looped).toBeGreaterThanOrEqual(20_000);
      // Our driver posts one-descriptor frames and buffers: all take the fast path but the first
      // one per ring, whose walk fills the region cache the fast path checks against.
      expect(pair.device.counters.looped - pair.device.counters.fastPath).toBeLessThanOrEqual(2);
      const bases = await dev.stop();
      // Split bases are the next avail index: one per frame through TX (ring 1).
      expect(bases.find((b) => b.index === 1)?.base).toBe(pair.device.counters.looped & 0xffff);
    } finally {
      dev.close();
    }
    expect(pair.violations).toEqual([]);
  });

  it('loops packed rings; with IN_ORDER it completes TX runs with one used descriptor and loses nothing', async () => {
    for (const inOrder of [false, true]) {
      pair = startPair();
      const dev = await NetDevice.start(pair.session, {
        queuePairs: 1, queueSize: 256, packed: true, extraFeatures: inOrder ? featureMask(VirtioFeature.IN_ORDER) : 0n,
      });
      try {
        const r = await runTraffic(dev, { packets: 20_000, size: 64 });
        expect(r).toMatchObject({ sent: 20_000, received: 20_000, lost: 0, duplicated: 0, corrupted: 0, violations: [] });
        const tx = dev.pairs[0].tx.driver as PackedQueueDriver;
        const rx = dev.pairs[0].rx.driver as PackedQueueDriver;
        expect(tx.inOrder).toBe(inOrder);
        // TX frames are only read, so a run of them needs one used descriptor; RX buffers each
        // carry their own length and are never batched.
        if (inOrder) expect(tx.batchedBuffers).toBeGreaterThan(10_000);
        else expect(tx.batchedBuffers).toBe(0);
        expect(rx.batchedBuffers).toBe(0);
        expect(pair.device.counters.looped - pair.device.counters.fastPath).toBeLessThanOrEqual(2);
      } finally {
        dev.close();
      }
      expect(pair.violations).toEqual([]);
      await pair.stop();
      pair = undefined;
    }
  });

  it('walks every chain the general way when a hook must see each one (--strict), split and packed alike', async () => {
    for (const packed of [false, true]) {
      pair = startPair({ hooks: strictHooks() });
      const dev = await NetDevice.start(pair.session, { queuePairs: 1, queueSize: 256, packed });
      try {
        const r = await runTraffic(dev, { packets: 5_000, size: 64 });
        expect(r).toMatchObject({ sent: 5_000, received: 5_000, lost: 0, duplicated: 0, corrupted: 0, violations: [] });
        expect(pair.device.counters.looped).toBeGreaterThanOrEqual(5_000);
        expect(pair.device.counters.fastPath).toBe(0);
      } finally {
        dev.close();
      }
      expect(pair.violations).toEqual([]);
      await pair.stop();
      pair = undefined;
    }
  });

  it('loops 1518-byte frames on two queue pairs', async () => {
    pair = startPair({ queuePairs: 2 });
    const dev = await NetDevice.start(pair.session, { queuePairs: 2, queueSize: 128 });
    try {
      const r = await runTraffic(dev, { packets: 4_000, size: 1518 });
      expect(r).toMatchObject({ sent: 4_000, received: 4_000, lost: 0, corrupted: 0, violations: [] });
    } finally {
      dev.close();
    }
  });

  it('stops the ring on GET_VRING_BASE and resets all state after a disconnect', async () => {
    pair = startPair();
    const dev = await NetDevice.start(pair.session, { queuePairs: 1 });
    await runTraffic(dev, { packets: 500, size: 64 });
    await dev.stop();
    dev.close();
    const end = await pair.stop();
    expect(end.reason).toMatch(/peer closed|stopped/);
    expect(pair.events.some((e) => e.event === 'ring-stopped')).toBe(true);
    // A new session on the same device starts from nothing (VU-SESS-003): ring 1 reports base 0.
    const again = startPair({ device: pair.device });
    pair = again;
    expect(await again.session.getVringBase(1)).toBe(0);
  });
});
