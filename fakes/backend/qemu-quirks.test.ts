import { afterEach, describe, expect, it } from 'vitest';
import { MemfdGuestMemory } from '../memory/index.js';
import { FrontendRequest, HeaderFlag, ProtocolFeature, featureMask, payloads } from '../wire/index.js';
import { startPair, type Pair } from './__test-helpers__/pair.js';

// Front-end behaviours QEMU 7.2 shows that DPDK virtio-user does not (found by
// test/interop/qemu-guest-backend.test.ts).
describe('QEMU 7.2 quirks the back-end accepts', () => {
  let pair: Pair | undefined;
  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
  });

  const ack = async (p: Pair, request: number, body: Uint8Array, fds: number[] = []): Promise<bigint> => {
    p.session.sendRaw({ request, flags: HeaderFlag.VERSION | HeaderFlag.NEED_REPLY, size: body.byteLength, body, fds });
    return payloads.u64.decode((await p.session.receiveRaw(3000, request)).body);
  };

  it('SET_VRING_ENABLE before SET_FEATURES is accepted when bit 30 is offered, refused after SET_FEATURES without it', async () => {
    pair = startPair();
    await pair.session.getFeatures();
    await pair.session.setProtocolFeatures(featureMask(ProtocolFeature.REPLY_ACK));
    expect(await ack(pair, FrontendRequest.SET_VRING_ENABLE, payloads.vringState.encode({ index: 0, num: 1 }))).toBe(0n);
    expect(await ack(pair, FrontendRequest.SET_FEATURES, payloads.u64.encode(1n << 32n))).toBe(0n);
    expect(await ack(pair, FrontendRequest.SET_VRING_ENABLE, payloads.vringState.encode({ index: 0, num: 1 }))).not.toBe(0n);
  });

  it('an ADD_MEM_REG repeating a mapped region (one per queue-pair vhost device) is acked, and removed as many times', async () => {
    pair = startPair();
    await pair.session.getFeatures();
    await pair.session.setProtocolFeatures(featureMask(ProtocolFeature.REPLY_ACK, ProtocolFeature.CONFIGURE_MEM_SLOTS));
    const mem = MemfdGuestMemory.create([{ guestPhysAddr: 0, size: 1 << 20 }], { name: 'quirk' });
    try {
      const r = mem.regions[0];
      const region = { guestPhysAddr: 0n, memorySize: BigInt(r.size), userspaceAddr: BigInt(r.userAddr), mmapOffset: 0n };
      const body = payloads.memRegion.encode({ region });
      expect(await ack(pair, FrontendRequest.ADD_MEM_REG, body, [r.fd!])).toBe(0n);
      expect(await ack(pair, FrontendRequest.ADD_MEM_REG, body, [r.fd!])).toBe(0n);
      expect(pair.events.some((e) => e.event === 'mem-add-repeat')).toBe(true);
      expect(await ack(pair, FrontendRequest.REM_MEM_REG, body)).toBe(0n);
      expect(await ack(pair, FrontendRequest.REM_MEM_REG, body)).toBe(0n);
      // Both references gone: a third removal has nothing to remove.
      expect(await ack(pair, FrontendRequest.REM_MEM_REG, body)).not.toBe(0n);
      // A different region overlapping the first is still refused.
      const other = payloads.memRegion.encode({ region: { ...region, userspaceAddr: region.userspaceAddr + 4096n } });
      expect(await ack(pair, FrontendRequest.ADD_MEM_REG, body, [r.fd!])).toBe(0n);
      expect(await ack(pair, FrontendRequest.ADD_MEM_REG, other, [r.fd!])).not.toBe(0n);
    } finally {
      mem.close();
    }
  });
});
