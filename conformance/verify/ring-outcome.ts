/**
 * How a back-end answered a request the suite expects it to refuse (CHECKLIST D15: no error codes
 * are defined; "non-zero REPLY_ACK" and "closes the connection" are both refusals, a hang never
 * is). The request goes out with NEED_REPLY so a back-end with REPLY_ACK must answer it.
 * @module
 */
import { PeerDisconnectedError, TimeoutError, makeFlags, requestName } from '../../fakes/wire/index.js';
import type { FrontendSession } from '../../fakes/frontend/index.js';
import type { CheckResult } from './ring-verdict.js';
import { mismatch } from './ring-verdict.js';

/** What came back for one request sent with NEED_REPLY. */
export type AckOutcome =
  | { kind: 'ack'; status: bigint }
  | { kind: 'closed' }
  | { kind: 'timeout'; afterMs: number };

/** Sends `request` with NEED_REPLY (and `fds`) and classifies the answer. */
export async function sendForAck(session: FrontendSession, request: number, body: Uint8Array, fds: number[] = [], timeoutMs = session.replyTimeoutMs): Promise<AckOutcome> {
  try {
    session.sendRaw({ request, flags: makeFlags({ needReply: true }), size: body.byteLength, body, fds });
  } catch (err) {
    if (err instanceof PeerDisconnectedError) return { kind: 'closed' };
    throw err;
  }
  try {
    const reply = await session.receiveRaw(timeoutMs, request);
    const status = reply.body.byteLength >= 8 ? new DataView(reply.body.buffer, reply.body.byteOffset, 8).getBigUint64(0, true) : -1n;
    return { kind: 'ack', status };
  } catch (err) {
    if (err instanceof PeerDisconnectedError) return { kind: 'closed' };
    if (err instanceof TimeoutError) return { kind: 'timeout', afterMs: timeoutMs };
    throw err;
  }
}

/** Describes an outcome for failure texts. */
export function describeOutcome(o: AckOutcome): string {
  switch (o.kind) {
    case 'ack': return o.status === 0n ? 'ack 0 (accepted)' : `ack ${o.status}`;
    case 'closed': return 'connection closed';
    case 'timeout': return `no answer within ${o.afterMs} ms`;
  }
}

/** The request was refused: a non-zero ack or a closed connection. */
export function expectRefused(what: string, request: number, o: AckOutcome): CheckResult {
  if ((o.kind === 'ack' && o.status !== 0n) || o.kind === 'closed') return undefined;
  return mismatch([`${requestName(request)} ${what}: a non-zero REPLY_ACK`, 'the connection closed'], describeOutcome(o));
}

/** The request was accepted with ack 0. */
export function expectAccepted(what: string, request: number, o: AckOutcome): CheckResult {
  if (o.kind === 'ack' && o.status === 0n) return undefined;
  return mismatch(`${requestName(request)} ${what}: REPLY_ACK 0`, describeOutcome(o));
}

/**
 * The peer still serves: the session answers GET_FEATURES, or, when this connection is gone, a
 * fresh one does. `open` opens a fresh session; a broken `session` and the fresh one are closed.
 */
export async function stillServes(session: FrontendSession | undefined, open: () => Promise<FrontendSession>): Promise<CheckResult> {
  if (session && !session.connection.isBroken) {
    try {
      await session.getFeatures();
      return undefined;
    } catch (err) {
      if (!(err instanceof PeerDisconnectedError)) {
        return mismatch('the back-end still answers GET_FEATURES on the same connection (or closes it)', `GET_FEATURES failed: ${(err as Error).message}`);
      }
    }
  }
  // One connection at a time: a back-end in client mode reconnects only once the old one is gone.
  session?.close();
  let fresh: FrontendSession | undefined;
  try {
    fresh = await open();
    await fresh.getFeatures();
    return undefined;
  } catch (err) {
    return mismatch('a fresh connection is served (GET_FEATURES answered)', `fresh session failed: ${(err as Error).message}`);
  } finally {
    fresh?.close();
  }
}
