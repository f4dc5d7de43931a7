/**
 * A front-end may hand over any fd as a call or err fd. One that is a full, blocking pipe must
 * not stop the back-end: it runs in this process here, so a blocking write would hang the test
 * itself rather than fail an assertion.
 */
import { writeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { NativeError, closeFd, eventfdSignal, eventfdWrite, pipe, setNonBlocking } from '../../native/index.js';
import { NetDevice, runTraffic } from '../frontend/index.js';
import { DeviceStatus, FrontendRequest, ProtocolFeature, SPLIT_AVAIL, featureMask, payloads } from '../wire/index.js';
import { startPair, type Pair } from './__test-helpers__/pair.js';

/** A pipe whose blocking write end takes no more bytes. */
function fullPipe(): [number, number] {
  const [r, w] = pipe();
  setNonBlocking(w, true);
  const chunk = Buffer.alloc(65536);
  for (;;) {
    try {
      writeSync(w, chunk);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw e;
    }
  }
  // Top up byte by byte: a pipe with room for fewer than 8 bytes still reports POLLOUT late.
  for (;;) {
    try {
      writeSync(w, chunk, 0, 1);
    } catch {
      break;
    }
  }
  setNonBlocking(w, false);
  return [r, w];
}

describe('call and err fds a front-end hands over', () => {
  let pair: Pair | undefined;
  const fds: number[] = [];
  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
    for (const fd of fds.splice(0)) closeFd(fd);
  });

  it('eventfdSignal on a full blocking pipe fails with EAGAIN instead of blocking', () => {
    const [r, w] = fullPipe();
    fds.push(r, w);
    expect(() => eventfdSignal(w)).toThrow(NativeError);
    try {
      eventfdSignal(w);
    } catch (e) {
      expect((e as NativeError).errnoName).toBe('EAGAIN');
    }
  });

  // Switching the call fd of a running ring writes one call on the new fd at once (VU-RING-018):
  // that write meets the full pipe. (The front-end here suppresses interrupts, so traffic itself
  // asks for none.)
  it('a full blocking pipe as the call fd of both running rings does not stop traffic or the control path', async () => {
    pair = startPair();
    const dev = await NetDevice.start(pair.session, { queuePairs: 1, queueSize: 64 });
    try {
      const [r, w] = fullPipe();
      fds.push(r, w);
      await pair.session.setVringFd(FrontendRequest.SET_VRING_CALL, 0, w);
      await pair.session.setVringFd(FrontendRequest.SET_VRING_CALL, 1, w);
      const res = await runTraffic(dev, { packets: 2000, size: 64, warmUpTimeoutMs: 3000, idleTimeoutMs: 2000 });
      expect(res.received).toBe(2000);
      expect(res.corrupted).toBe(0);
      await pair.session.getFeatures();
    } finally {
      dev.close();
    }
  }, 30_000);

  it('a full blocking pipe as the err fd: a broken ring is still reported through GET_STATUS', async () => {
    pair = startPair();
    const dev = await NetDevice.start(pair.session, { queuePairs: 1, queueSize: 64, extraProtocolFeatures: featureMask(ProtocolFeature.STATUS) });
    try {
      const [r, w] = fullPipe();
      fds.push(r, w);
      await pair.session.setVringFd(FrontendRequest.SET_VRING_ERR, 1, w);
      const tx = dev.pairs[0]!.tx;
      dev.memory.writeU16(tx.layout.availAddr + SPLIT_AVAIL.IDX, 64 + 5);
      eventfdWrite(tx.kickFd, 1n);
      for (let i = 0; i < 100 && !pair.events.some((e) => e.event === 'ring-broken'); i++) await new Promise((res) => setTimeout(res, 10));
      const status = payloads.u64.decode((await pair.session.call(FrontendRequest.GET_STATUS)).body);
      expect(Number(status) & DeviceStatus.DEVICE_NEEDS_RESET).toBe(DeviceStatus.DEVICE_NEEDS_RESET);
    } finally {
      dev.close();
    }
  }, 30_000);
});
