import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, eventfdCreate } from '../../native/index.js';
import {
  FRONTEND_REQUESTS, FrontendRequest, HeaderFlag, ProtocolFeature, REPLY_FLAGS, VirtioFeature, featureMask, payloads,
  type RawMessage,
} from '../wire/index.js';
import { leakProbe, startPair, type Pair } from './__test-helpers__/pair.js';
import { HANDLERS } from './handlers/index.js';
import { OFFERED_PROTOCOL_FEATURES } from './features.js';

const raw = (request: number, body: Uint8Array = new Uint8Array(0), o: { flags?: number; fds?: number[]; size?: number } = {}): RawMessage => ({
  request, flags: o.flags ?? HeaderFlag.VERSION, size: o.size ?? body.byteLength, body, fds: o.fds ?? [],
});
const NEED = HeaderFlag.VERSION | HeaderFlag.NEED_REPLY;

async function withReplyAck(p: Pair): Promise<void> {
  await p.session.getFeatures();
  await p.session.setProtocolFeatures(featureMask(ProtocolFeature.REPLY_ACK, ProtocolFeature.MQ, ProtocolFeature.CONFIG,
    ProtocolFeature.STATUS, ProtocolFeature.CONFIGURE_MEM_SLOTS, ProtocolFeature.INFLIGHT_SHMFD, ProtocolFeature.RESET_DEVICE, ProtocolFeature.LOG_SHMFD));
}

async function ack(p: Pair, msg: RawMessage): Promise<bigint> {
  p.session.sendRaw(msg);
  const r = await p.session.receiveRaw(3000, msg.request);
  expect(r.flags).toBe(REPLY_FLAGS);
  expect(r.request).toBe(msg.request);
  return payloads.u64.decode(r.body);
}

describe('dispatcher', () => {
  let pair: Pair | undefined;
  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
  });

  it('is derived from the request table: every handler names a front-end request', () => {
    const names = new Set(FRONTEND_REQUESTS.map((r) => r.name));
    for (const n of Object.keys(HANDLERS)) expect(names.has(n as never)).toBe(true);
  });

  it('answers GET_FEATURES with flags 0x5 exactly once, NEED_REPLY or not (VU-MSG-001/009)', async () => {
    pair = startPair();
    pair.session.sendRaw(raw(FrontendRequest.GET_FEATURES, undefined, { flags: NEED }));
    const r = await pair.session.receiveRaw(3000);
    expect(r).toMatchObject({ request: FrontendRequest.GET_FEATURES, flags: REPLY_FLAGS, size: 8 });
    const f = payloads.u64.decode(r.body);
    expect(f & featureMask(VirtioFeature.VERSION_1, VirtioFeature.PROTOCOL_FEATURES, VirtioFeature.RING_PACKED)).not.toBe(0n);
    // The next frame must be the reply to the next request, not a second one.
    expect(await pair.session.getProtocolFeatures()).toBe(OFFERED_PROTOCOL_FEATURES);
  });

  it('acks SET_PROTOCOL_FEATURES that turns REPLY_ACK on (VU-PF-005) and acks 0 on success', async () => {
    pair = startPair();
    await pair.session.getFeatures();
    expect(await ack(pair, raw(FrontendRequest.SET_PROTOCOL_FEATURES, payloads.u64.encode(featureMask(ProtocolFeature.REPLY_ACK)), { flags: NEED }))).toBe(0n);
    expect(await ack(pair, raw(FrontendRequest.SET_OWNER, undefined, { flags: NEED }))).toBe(0n);
  });

  it('refuses unknown and ungated requests with a non-zero ack and stays usable (VU-MSG-007, VU-PF-002)', async () => {
    pair = startPair();
    await withReplyAck(pair);
    for (const code of [0, 46, 255, 0xffffffff]) expect(await ack(pair, raw(code, undefined, { flags: NEED }))).not.toBe(0n);
    // SEND_RARP: RARP is not offered, so the gate fails.
    expect(await ack(pair, raw(FrontendRequest.SEND_RARP, payloads.u64.encode(1n), { flags: NEED }))).not.toBe(0n);
    expect(await pair.session.getFeatures()).toBeGreaterThan(0n);
  });

  it('refuses bad versions, REPLY on a request, and short or long payloads (VU-MSG-005/006/008)', async () => {
    pair = startPair();
    await withReplyAck(pair);
    expect(await ack(pair, raw(FrontendRequest.SET_OWNER, undefined, { flags: 2 | HeaderFlag.NEED_REPLY }))).not.toBe(0n);
    expect(await ack(pair, raw(FrontendRequest.SET_VRING_ADDR, new Uint8Array(8), { flags: NEED }))).not.toBe(0n);
    expect(await ack(pair, raw(FrontendRequest.SET_VRING_NUM, new Uint8Array(64), { flags: NEED }))).not.toBe(0n);
    expect(await ack(pair, raw(FrontendRequest.SET_VRING_NUM, payloads.vringState.encode({ index: 0, num: 256 }), { flags: NEED }))).toBe(0n);
    expect(await ack(pair, raw(FrontendRequest.SET_VRING_NUM, payloads.vringState.encode({ index: 0, num: 3 }), { flags: NEED }))).not.toBe(0n);
    expect(await ack(pair, raw(FrontendRequest.SET_VRING_NUM, payloads.vringState.encode({ index: 2, num: 256 }), { flags: NEED }))).not.toBe(0n);
  });

  it('closes the connection on a header announcing an oversize payload, without crashing', async () => {
    pair = startPair();
    pair.session.connection.sendBytes(new Uint8Array([1, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0x00]));
    const end = await pair.ended;
    expect(end.reason).toMatch(/VU-MSG-005/);
  });

  it('closes stray fds and fds of refused messages (VU-MSG-010/011, VU-FD-004)', async () => {
    pair = startPair();
    await withReplyAck(pair);
    const probes = Array.from({ length: 10 }, () => leakProbe());
    try {
      // An fd on GET_FEATURES (takes none): closed, and the request still answered.
      pair.session.sendRaw(raw(FrontendRequest.GET_FEATURES, undefined, { fds: [probes[0].writeFd] }));
      await pair.session.receiveRaw(3000);
      // Eight fds on SET_VRING_KICK: refused, all closed.
      const eight = probes.slice(1, 9).map((p) => p.writeFd);
      expect(await ack(pair, raw(FrontendRequest.SET_VRING_KICK, payloads.vringFd.encode({ index: 0, noFd: false, upper: 0n }), { flags: NEED, fds: eight }))).not.toBe(0n);
      // NOFD set but an fd attached (VU-FD-004): refused, closed.
      expect(await ack(pair, raw(FrontendRequest.SET_VRING_CALL, payloads.vringFd.encode({ index: 0, noFd: true, upper: 0n }), { flags: NEED, fds: [probes[9].writeFd] }))).not.toBe(0n);
      for (const p of probes) expect(await p.closedByPeer()).toBe(true);
    } finally {
      for (const p of probes) p.dispose();
    }
  });

  it('closes a replaced call fd and all ring fds on disconnect (VU-FD-007, VU-SESS-003)', async () => {
    pair = startPair();
    await withReplyAck(pair);
    const a = leakProbe();
    const b = leakProbe();
    try {
      const enc = payloads.vringFd.encode({ index: 0, noFd: false, upper: 0n });
      expect(await ack(pair, raw(FrontendRequest.SET_VRING_ERR, enc, { flags: NEED, fds: [a.writeFd] }))).toBe(0n);
      expect(await ack(pair, raw(FrontendRequest.SET_VRING_ERR, enc, { flags: NEED, fds: [b.writeFd] }))).toBe(0n);
      expect(await a.closedByPeer()).toBe(true);
      await pair.stop();
      expect(await b.closedByPeer()).toBe(true);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('fails SET_VRING_KICK without its fd (VU-FD-005) and rejects ring indices beyond the device (VU-RING-013)', async () => {
    pair = startPair();
    await withReplyAck(pair);
    expect(await ack(pair, raw(FrontendRequest.SET_VRING_KICK, payloads.vringFd.encode({ index: 0, noFd: false, upper: 0n }), { flags: NEED }))).not.toBe(0n);
    const efd = eventfdCreate();
    try {
      expect(await ack(pair, raw(FrontendRequest.SET_VRING_KICK, payloads.vringFd.encode({ index: 7, noFd: false, upper: 0n }), { flags: NEED, fds: [efd] }))).not.toBe(0n);
    } finally {
      closeFd(efd);
    }
    // GET_VRING_BASE on an unconfigured ring in range answers (VU-RING-014) …
    expect(await pair.session.getVringBase(1)).toBe(0);
    // … and out of range closes the connection rather than leave the front-end waiting.
    pair.session.sendRaw(raw(FrontendRequest.GET_VRING_BASE, payloads.vringState.encode({ index: 99, num: 0 })));
    expect((await pair.ended).reason).toMatch(/ring 99/);
  });

  it('takes SET_VRING_ENDIAN 0 or 1 before a ring starts and refuses 2 and a started ring (VU-RING-021)', async () => {
    pair = startPair();
    await pair.session.getFeatures();
    await pair.session.setProtocolFeatures(featureMask(ProtocolFeature.REPLY_ACK, ProtocolFeature.CROSS_ENDIAN));
    const endian = (index: number, num: number): RawMessage => raw(FrontendRequest.SET_VRING_ENDIAN, payloads.vringState.encode({ index, num }), { flags: NEED });
    expect(await ack(pair, endian(0, 1))).toBe(0n);
    expect(await ack(pair, endian(0, 0))).toBe(0n);
    expect(await ack(pair, endian(0, 2))).not.toBe(0n);
    expect(await ack(pair, endian(9, 1))).not.toBe(0n);
    const efd = eventfdCreate();
    try {
      // A kick fd starts the ring even before addresses arrive (the ring is then broken, but started).
      expect(await ack(pair, raw(FrontendRequest.SET_VRING_KICK, payloads.vringFd.encode({ index: 0, noFd: false, upper: 0n }), { flags: NEED, fds: [efd] }))).toBe(0n);
    } finally {
      closeFd(efd);
    }
    expect(await ack(pair, endian(0, 1))).not.toBe(0n);
    expect(await ack(pair, endian(1, 1))).toBe(0n);
  });

  it('handles config, status, mem slots and inflight requests', async () => {
    pair = startPair({ queuePairs: 2 });
    await withReplyAck(pair);
    const cfg = await pair.session.call(FrontendRequest.GET_CONFIG, payloads.config.encode(payloads.makeConfig(0, new Uint8Array(10))));
    const c = payloads.config.decode(cfg.body);
    expect(Array.from(c.data.subarray(0, 6))).toEqual([2, 0, 0, 0, 0, 1]);
    expect(c.data[8]).toBe(2); // max_virtqueue_pairs
    const bad = await pair.session.call(FrontendRequest.GET_CONFIG, payloads.config.encode(payloads.makeConfig(250, new Uint8Array(16))));
    expect(bad.size).toBe(0); // the error form (VU-CFG-002)
    expect(await ack(pair, raw(FrontendRequest.SET_CONFIG, payloads.config.encode(payloads.makeConfig(0, new Uint8Array(6))), { flags: NEED }))).not.toBe(0n);
    expect(await ack(pair, raw(FrontendRequest.SET_STATUS, payloads.u64.encode(3n), { flags: NEED }))).toBe(0n);
    expect(payloads.u64.decode((await pair.session.call(FrontendRequest.GET_STATUS)).body)).toBe(3n);
    expect(await pair.session.getMaxMemSlots()).toBeGreaterThanOrEqual(1n);
    expect(await pair.session.getQueueNum()).toBe(2n);
    const inf = await pair.session.call(FrontendRequest.GET_INFLIGHT_FD, payloads.inflight.encode({ mmapSize: 0n, mmapOffset: 0n, numQueues: 4, queueSize: 256 }));
    expect(inf.fds.length).toBe(1);
    const desc = payloads.inflight.decode(inf.body);
    expect(desc.mmapSize).toBeGreaterThanOrEqual(BigInt(4 * (16 + 16 * 256)));
    expect(await ack(pair, raw(FrontendRequest.SET_INFLIGHT_FD, inf.body, { flags: NEED, fds: inf.fds }))).toBe(0n);
    closeFd(inf.fds[0]);
    const tooMany = payloads.inflight.encode({ mmapSize: 0n, mmapOffset: 0n, numQueues: 1000, queueSize: 256 });
    pair.session.sendRaw(raw(FrontendRequest.GET_INFLIGHT_FD, tooMany));
    expect((await pair.ended).reason).toMatch(/num_queues/);
  });
});
