import { afterEach, describe, expect, it } from 'vitest';
import { NetDevice } from '../frontend/index.js';
import { checkDeviceState, readStream, startTransfer, writeStream } from '../../conformance/verify/device-state-transfer.js';
import { ProtocolFeature, featureMask } from '../wire/index.js';
import { decodeDeviceState, encodeDeviceState } from './device-state-stream.js';
import { startPair, type Pair } from './__test-helpers__/pair.js';

const PF = featureMask(ProtocolFeature.DEVICE_STATE);

describe('device-state stream', () => {
  it('round-trips and refuses every damaged form', () => {
    const s = encodeDeviceState({ features: 0x1_0000_0000n, blob: Uint8Array.of(2, 0, 0, 0, 0, 9) });
    expect(decodeDeviceState(s)).toEqual({ features: 0x1_0000_0000n, blob: Uint8Array.of(2, 0, 0, 0, 0, 9) });
    expect(decodeDeviceState(s.slice(0, s.length - 1))).toMatch(/header says/);
    expect(decodeDeviceState(new Uint8Array(0))).toMatch(/shorter/);
    const flipped = s.slice();
    flipped[18] ^= 1;
    expect(decodeDeviceState(flipped)).toMatch(/digest/);
    expect(decodeDeviceState(s.map((b) => b ^ 0xff))).toMatch(/magic/);
  });
});

describe('SET_DEVICE_STATE_FD / CHECK_DEVICE_STATE on the reference back-end', () => {
  let pair: Pair | undefined;
  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
  });

  it('saves a suspended device, loads the stream into a new session, and refuses it damaged', async () => {
    pair = startPair();
    const dev = await NetDevice.start(pair.session, { queuePairs: 1, extraProtocolFeatures: PF });
    await dev.stop();
    const t = await startTransfer(pair.session, 0, 2000);
    expect(t.ok).toBe(true);
    if (!t.ok) return;
    expect(t.backendFd).toBe(false);
    const stream = await readStream(t.fd, 2000);
    expect(stream).toBeInstanceOf(Uint8Array);
    expect(await checkDeviceState(pair.session, 2000)).toBe(0n);
    dev.close();
    await pair.stop();
    for (const [bytes, want] of [[stream as Uint8Array, 0n], [(stream as Uint8Array).slice(0, 10), 1n]] as const) {
      pair = startPair({ device: pair.device });
      const again = await NetDevice.start(pair.session, { queuePairs: 1, extraProtocolFeatures: PF });
      await again.stop();
      const l = await startTransfer(pair.session, 1, 2000);
      expect(l.ok).toBe(true);
      if (!l.ok) return;
      expect(await writeStream(l.fd, bytes, 2000)).toBeUndefined();
      expect(await checkDeviceState(pair.session, 2000), pair.events.filter((e) => e.event === 'refused' || e.event.startsWith('device-state')).map((e) => e.detail).join('; ')).toBe(want);
      again.close();
      await pair.stop();
    }
    pair = undefined;
  });
});
