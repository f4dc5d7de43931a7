/**
 * Test support: the reference back-end serving one end of a socketpair in this process and our
 * front-end session on the other end.
 */
import { closeFd, pipe, pollAsync, PollEvent, socketPair } from '../../../native/index.js';
import { FrontendSession } from '../../frontend/index.js';
import { Connection } from '../../transport/index.js';
import { MessageStream } from '../../transport/message-stream.js';
import { NetLoopbackDevice } from '../net-loopback.js';
import { serveSession, type BackendOptions, type SessionEnd } from '../session.js';
import type { SessionEvent, Violation } from '../session-state.js';

export interface Pair {
  session: FrontendSession;
  device: NetLoopbackDevice;
  events: SessionEvent[];
  violations: Violation[];
  ended: Promise<SessionEnd>;
  stop(): Promise<SessionEnd>;
}

export function startPair(opts: Partial<BackendOptions> & { queuePairs?: number } = {}): Pair {
  const [a, b] = socketPair();
  const device = (opts.device as NetLoopbackDevice | undefined) ?? new NetLoopbackDevice({ queuePairs: opts.queuePairs ?? 1 });
  const events: SessionEvent[] = [];
  const violations: Violation[] = [];
  let stopping = false;
  const ended = serveSession(new MessageStream(b), {
    ...opts, device, observer: { event: (e) => events.push(e), violation: (v) => violations.push(v) },
  }, () => stopping);
  const session = new FrontendSession(new Connection(a), { replyTimeoutMs: 3000 });
  return {
    session, device, events, violations, ended,
    async stop() {
      stopping = true;
      session.close();
      return ended;
    },
  };
}

/** A pipe whose write end is handed over; resolves true once every write end is closed (EOF). */
export function leakProbe(): { writeFd: number; closedByPeer(timeoutMs?: number): Promise<boolean>; dispose(): void } {
  const [r, w] = pipe();
  let wOpen = true;
  return {
    writeFd: w,
    async closedByPeer(timeoutMs = 2000) {
      if (wOpen) {
        closeFd(w);
        wOpen = false;
      }
      const [rev] = await pollAsync([{ fd: r, events: PollEvent.IN }], timeoutMs);
      return (rev & PollEvent.HUP) !== 0;
    },
    dispose() {
      if (wOpen) closeFd(w);
      closeFd(r);
    },
  };
}
