/**
 * The front-end's end of the back-end channel (vhost-user.rst "Back-end communication",
 * SET_BACKEND_REQ_FD): a socket pair whose other end the back-end gets, and a reader that returns
 * the back-end's requests one by one with a bound on every wait. Cases use it to see IOTLB misses,
 * and to check that a suspended device sends nothing.
 * @module
 */
import { PollEvent, closeFd, pollSync, socketPair } from '../../native/index.js';
import type { FrontendSession } from '../../fakes/frontend/index.js';
import { MessageStream } from '../../fakes/transport/index.js';
import { FrontendRequest, REPLY_FLAGS, needsReply, payloads, type RawMessage } from '../../fakes/wire/index.js';
import { withRig, type RigContext, type RigOptions, type RingRig } from './ring-rig.js';

/** The front-end's end of a back-end channel. */
export class BackendChannel {
  #closed = false;
  /** Every message received so far, in order (their fds already closed; `fds` keeps the count). */
  readonly received: RawMessage[] = [];

  private constructor(private readonly stream: MessageStream, private readonly fd: number) {}

  /**
   * Creates the socket pair and hands one end over with SET_BACKEND_REQ_FD (acked under
   * REPLY_ACK). The caller negotiated BACKEND_REQ.
   */
  static async attach(session: FrontendSession): Promise<BackendChannel> {
    const [ours, theirs] = socketPair();
    try {
      await session.command(FrontendRequest.SET_BACKEND_REQ_FD, new Uint8Array(0), [theirs]);
    } catch (err) {
      closeFd(ours);
      throw err;
    } finally {
      // sendmsg gave the back-end its own copy.
      closeFd(theirs);
    }
    return new BackendChannel(new MessageStream(ours), ours);
  }

  /**
   * The next message the back-end sent, waiting up to `waitMs`; undefined when none came. The
   * message's fds are closed (no case here keeps one). Throws when the channel broke.
   */
  async next(waitMs: number): Promise<RawMessage | undefined> {
    // read(0) only looks at what is already buffered; 1 ms lets it ask the socket.
    const e = await this.stream.read(Math.max(waitMs, 1));
    switch (e.kind) {
      case 'message':
        for (const fd of e.message.fds) closeFd(fd);
        this.received.push(e.message);
        return e.message;
      case 'idle':
        return undefined;
      case 'eof':
        throw new Error('the back-end closed its end of the back-end channel');
      case 'oversize':
        throw new Error(`the back-end sent a back-end channel header announcing ${e.header.size} bytes`);
      case 'error':
        throw e.error;
    }
  }

  /** Every message already waiting (none is waited for). */
  async drain(): Promise<RawMessage[]> {
    const out: RawMessage[] = [];
    for (;;) {
      // Bytes already in the socket get as long as the read takes to be scheduled: a 1 ms read
      // alone loses that race when libuv's pool is busy, and a case would miss a message that
      // had arrived (seen as a flaky pass of the chatty-backend-channel mutant). Nothing there:
      // one short look at what the stream may have buffered already.
      const ready = !this.#closed && (pollSync([{ fd: this.fd, events: PollEvent.IN }], 0)[0]! & PollEvent.IN) !== 0;
      const m = await this.next(ready ? 2_000 : 0);
      if (m === undefined) return out;
      out.push(m);
    }
  }

  /**
   * Answers `m` with a u64 0 (success) when it asked for a reply (NEED_REPLY): a back-end that
   * waits for the front-end's ack must not stall the case. False when the channel is gone.
   */
  ack(m: RawMessage): boolean {
    if (!needsReply(m) || this.#closed) return true;
    const body = payloads.u64.encode(0n);
    return this.stream.send({ request: m.request, flags: REPLY_FLAGS, size: body.length, body, fds: [] });
  }

  /** Closes our end. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.stream.close();
  }
}

/**
 * {@link withRig} with a back-end channel attached (the options negotiate BACKEND_REQ) and every
 * ring started, in QEMU's order: SET_BACKEND_REQ_FD comes before the rings. The channel is
 * closed after `fn`, before the rig.
 */
export function withChannelRig<T>(ctx: RigContext, options: RigOptions, fn: (rig: RingRig, channel: BackendChannel) => Promise<T>): Promise<T> {
  return withRig(ctx, options, async (rig) => {
    const channel = await BackendChannel.attach(rig.session);
    try {
      await rig.startAll();
      return await fn(rig, channel);
    } finally {
      channel.close();
    }
  });
}
