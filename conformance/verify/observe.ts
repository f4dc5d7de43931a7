/**
 * Turning what the peer does next into an {@link Observation} (STYLE §21): a reply, the
 * connection closing, or nothing within a bound are ordinary outcomes a case compares with what
 * the spec allows, not exceptions. Only our own bugs throw.
 * @module
 */
import type { FrontendSession } from '../../fakes/frontend/index.js';
import { closeFd } from '../../native/index.js';
import {
  MalformedMessageError, PeerDisconnectedError, TimeoutError, describeMessage, u64,
} from '../../fakes/wire/index.js';
import type { Observation } from '../model.js';

/** Options of {@link observeNext}. */
export interface ObserveOptions {
  /** The request whose answer is awaited (names it in the session trace and errors). */
  awaiting?: number;
  /** Keep the fds of a reply (default: close them at once; the caller owns kept fds). */
  keepFds?: boolean;
}

/** Waits at most `timeoutMs` for the next message from the peer and says what happened. */
export async function observeNext(session: FrontendSession, timeoutMs: number, options: ObserveOptions = {}): Promise<Observation> {
  try {
    const msg = await session.receiveRaw(timeoutMs, options.awaiting);
    if (!options.keepFds) {
      for (const fd of msg.fds) closeFd(fd);
    }
    return { kind: 'reply', request: msg.request, flags: msg.flags, size: msg.size, body: msg.body, fds: options.keepFds ? msg.fds : [] };
  } catch (err) {
    if (err instanceof TimeoutError) return { kind: 'timeout', afterMs: timeoutMs };
    if (err instanceof PeerDisconnectedError) return { kind: 'closed' };
    if (err instanceof MalformedMessageError) return { kind: 'unexpected', description: err.message };
    throw err;
  }
}

/** One line for an observation, for failure text and notes. */
export function describeObservation(o: Observation): string {
  switch (o.kind) {
    case 'reply': {
      const text = describeMessage({ request: o.request, flags: o.flags, size: o.size, body: o.body, fds: o.fds });
      return `${text} (flags 0x${o.flags.toString(16)}, size ${o.size})`;
    }
    case 'ack': return `ack ${o.status} for request ${o.request}`;
    case 'closed': return 'the back-end closed the connection';
    case 'timeout': return `no message within ${o.afterMs} ms`;
    case 'unexpected': return o.description;
  }
}

/** The u64 in a reply body, or undefined when the body is not 8 bytes. */
export function replyU64(o: Observation): bigint | undefined {
  return o.kind === 'reply' && o.body.byteLength === 8 ? u64.decode(o.body) : undefined;
}
