/**
 * The front-end session over a real socketpair, against a scripted peer on the other end: replies
 * are checked the way QEMU checks them, and every failure names the request.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, socketPair } from '../../native/index.js';
import { Connection } from '../transport/index.js';
import {
  FrontendRequest, PeerDisconnectedError, ProtocolFeature, REPLY_FLAGS, TimeoutError, UnexpectedReplyError,
  encodeRaw, featureMask, u64, type RawMessage,
} from '../wire/index.js';
import { FrontendSession, RequestFailedError } from './session.js';

let open: Connection[] = [];
afterEach(() => {
  for (const c of open) c.close();
  open = [];
});

function pair(): { session: FrontendSession; peer: Connection } {
  const [a, b] = socketPair();
  const mine = new Connection(a);
  const peer = new Connection(b);
  open.push(mine, peer);
  return { session: new FrontendSession(mine, { replyTimeoutMs: 500 }), peer };
}

const reply = (request: number, body: Uint8Array, flags = REPLY_FLAGS): RawMessage => ({ request, flags, size: body.length, body, fds: [] });

describe('FrontendSession', () => {
  it('reads GET_FEATURES and records the exchange', async () => {
    const { session, peer } = pair();
    const got = session.getFeatures();
    const req = await peer.receive(1000);
    expect(req).toMatchObject({ request: FrontendRequest.GET_FEATURES, flags: 1, size: 0 });
    peer.send(reply(FrontendRequest.GET_FEATURES, u64.encode(0x1_4000_0000n)));
    expect(await got).toBe(0x1_4000_0000n);
    expect(session.messages.map((m) => m.dir)).toEqual(['sent', 'received']);
    expect(session.messages[1].message).toMatch(/GET_FEATURES reply/);
  });

  it('rejects a reply whose flags are not exactly 0x5 (VU-MSG-001)', async () => {
    const { session, peer } = pair();
    const got = session.getFeatures();
    await peer.receive(1000);
    peer.send(reply(FrontendRequest.GET_FEATURES, u64.encode(1n), REPLY_FLAGS | 0x8));
    await expect(got).rejects.toBeInstanceOf(UnexpectedReplyError);
  });

  it('rejects a reply to another request (VU-MSG-002)', async () => {
    const { session, peer } = pair();
    const got = session.getFeatures();
    await peer.receive(1000);
    peer.send(reply(FrontendRequest.GET_PROTOCOL_FEATURES, u64.encode(1n)));
    await expect(got).rejects.toThrow(/GET_FEATURES/);
  });

  it('asks for acks under REPLY_ACK and turns a non-zero ack into RequestFailedError', async () => {
    const { session, peer } = pair();
    session.protocolFeatures = featureMask(ProtocolFeature.REPLY_ACK);
    const got = session.setVringNum(0, 256);
    const req = await peer.receive(1000);
    expect(req.flags).toBe(1 | 0x8);
    peer.send(reply(FrontendRequest.SET_VRING_NUM, u64.encode(1n)));
    await expect(got).rejects.toBeInstanceOf(RequestFailedError);
  });

  it('does not wait for an ack without REPLY_ACK', async () => {
    const { session, peer } = pair();
    await session.setOwner();
    expect((await peer.receive(1000)).flags).toBe(1);
  });

  it('times out naming the request when the peer never answers', async () => {
    const { session } = pair();
    const err = await session.getFeatures().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).request).toBe('GET_FEATURES');
  });

  it('reports a peer that closes mid-reply, then fails fast with the same error', async () => {
    const { session, peer } = pair();
    const got = session.getFeatures();
    await peer.receive(1000);
    peer.sendBytes(encodeRaw(reply(FrontendRequest.GET_FEATURES, u64.encode(1n))).subarray(0, 7));
    peer.close();
    const err = await got.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerDisconnectedError);
    expect((err as Error).message).toMatch(/after 7 bytes .*GET_FEATURES/);
    await expect(session.getFeatures()).rejects.toBe(err);
  });

  it('reassembles a reply that arrives one byte at a time', async () => {
    const { session, peer } = pair();
    const got = session.getFeatures();
    await peer.receive(1000);
    const bytes = encodeRaw(reply(FrontendRequest.GET_FEATURES, u64.encode(42n)));
    for (let i = 0; i < bytes.length; i++) {
      peer.sendBytes(bytes.subarray(i, i + 1));
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(await got).toBe(42n);
  });

  it('hands fds that came with a reply to the caller', async () => {
    const { session, peer } = pair();
    const [x, y] = socketPair();
    const got = session.call(FrontendRequest.GET_INFLIGHT_FD, new Uint8Array(24));
    await peer.receive(1000);
    peer.send({ ...reply(FrontendRequest.GET_INFLIGHT_FD, new Uint8Array(24)), fds: [x] });
    const r = await got;
    expect(r.fds).toHaveLength(1);
    for (const fd of [...r.fds, x, y]) closeFd(fd);
  });
});
