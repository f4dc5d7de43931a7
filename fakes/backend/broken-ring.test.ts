/**
 * A ring the reference back-end cannot continue (here: the avail index jumps past the ring,
 * VU-DP-003) is taken out of service and the front-end is told both ways the specs provide: its
 * error eventfd is signalled (SET_VRING_ERR) and GET_STATUS gains DEVICE_NEEDS_RESET.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, eventfdCreate, eventfdRead, eventfdWrite, pollAsync, PollEvent } from '../../native/index.js';
import { NetDevice } from '../frontend/index.js';
import { DeviceStatus, FrontendRequest, ProtocolFeature, SPLIT_AVAIL, featureMask, payloads } from '../wire/index.js';
import { startPair, type Pair } from './__test-helpers__/pair.js';

describe('a broken ring', () => {
  let pair: Pair | undefined;
  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
  });

  it('signals the err fd, sets DEVICE_NEEDS_RESET and reports it once', async () => {
    pair = startPair();
    const dev = await NetDevice.start(pair.session, { queuePairs: 1, queueSize: 64, extraProtocolFeatures: featureMask(ProtocolFeature.STATUS) });
    const err = eventfdCreate();
    try {
      await pair.session.setVringFd(FrontendRequest.SET_VRING_ERR, 1, err);
      const status0 = payloads.u64.decode((await pair.session.call(FrontendRequest.GET_STATUS)).body);
      expect(Number(status0) & DeviceStatus.DEVICE_NEEDS_RESET).toBe(0);
      // Publish an avail index 64 + 5 ahead of what the device has seen on TX ring 1.
      const tx = dev.pairs[0]!.tx;
      dev.memory.writeU16(tx.layout.availAddr + SPLIT_AVAIL.IDX, 64 + 5);
      eventfdWrite(tx.kickFd, 1n);
      const [rev] = await pollAsync([{ fd: err, events: PollEvent.IN }], 3000);
      expect(rev & PollEvent.IN).not.toBe(0);
      expect(eventfdRead(err)).toBe(1n);
      const status = payloads.u64.decode((await pair.session.call(FrontendRequest.GET_STATUS)).body);
      expect(Number(status) & DeviceStatus.DEVICE_NEEDS_RESET).toBe(DeviceStatus.DEVICE_NEEDS_RESET);
      expect(pair.events.filter((e) => e.event === 'ring-broken' && e.ring === 1)).toHaveLength(1);
      expect(pair.violations.some((v) => v.rule === 'VU-DP-003')).toBe(true);
      // The ring is out of service: a second kick is not another error report.
      eventfdWrite(tx.kickFd, 1n);
      await pair.session.getFeatures();
      expect(pair.events.filter((e) => e.event === 'ring-broken')).toHaveLength(1);
    } finally {
      dev.close();
      closeFd(err);
    }
  });
});
