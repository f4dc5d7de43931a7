/**
 * The live end of the protocol commands: sends each {@link FuzzStep} on a connection to the peer
 * and watches for the hang oracle — a step the protocol says must be answered gets no reply and
 * no close within the time-out while the peer still runs. Every step actually sent is recorded
 * (the reproducer's message list). Replies to other requests and unsolicited frames are read
 * and dropped, so a back-end that answered a malformed message does not put the stream out of
 * step.
 * @module
 */
import type { Connection } from '../../fakes/transport/index.js';
import { HeaderFlag } from '../../fakes/wire/header.js';
import { TimeoutError, PeerDisconnectedError, MalformedMessageError } from '../../fakes/wire/errors.js';
import { requestName } from '../../fakes/wire/requests.js';
import type { StepOutcome, StepSink } from '../arbitraries/commands.js';
import type { FuzzStep } from '../arbitraries/step.js';
import { Finding, FindingKind } from '../campaign/finding.js';
import type { FuzzPeer } from '../peer/fuzz-peer.js';
import { closeFds, openFds } from './fds.js';

/** Options of a {@link ConnectionSink}. */
export interface SinkOptions {
  /** How long a reply that is owed may take (ms). */
  readonly replyTimeoutMs: number;
}

/** Sends steps on one connection. */
export class ConnectionSink implements StepSink {
  /** Steps sent, in order (a cut step included). */
  readonly steps: FuzzStep[] = [];
  private closed = false;

  constructor(private readonly conn: Connection, private readonly peer: FuzzPeer, private readonly options: SinkOptions) {}

  async send(step: FuzzStep): Promise<StepOutcome> {
    if (this.closed || this.conn.isBroken) {
      this.closed = true;
      return { kind: 'closed', detail: 'connection already closed' };
    }
    this.steps.push(step);
    const fds = openFds(step.fds);
    try {
      const bytes = step.cutAt === undefined ? step.bytes : step.bytes.subarray(0, step.cutAt);
      this.conn.sendBytes(bytes, fds, step.request);
    } catch (err) {
      this.closed = true;
      return { kind: 'closed', detail: (err as Error).message };
    } finally {
      closeFds(fds);
    }
    if (step.cutAt !== undefined) {
      this.close();
      return { kind: 'closed', detail: `cut after ${step.cutAt} bytes` };
    }
    if (step.reply !== 'expect') return { kind: 'sent' };
    return this.awaitReply(step);
  }

  private async awaitReply(step: FuzzStep): Promise<StepOutcome> {
    const deadline = Date.now() + this.options.replyTimeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      try {
        if (left <= 0) throw new TimeoutError(undefined, { timeoutMs: this.options.replyTimeoutMs });
        const msg = await this.conn.receive(left, step.request);
        closeFds(msg.fds);
        if (msg.request === step.request && (msg.flags & HeaderFlag.REPLY) !== 0) return { kind: 'replied', body: msg.body };
        // A late reply to an earlier message, or an unsolicited frame: skip it.
      } catch (err) {
        if (err instanceof TimeoutError) {
          // Give a dying process a moment to be reaped, so a crash is not reported as a hang.
          await new Promise((r) => setTimeout(r, 50));
          if (this.peer.alive() === false) {
            throw new Finding(FindingKind.CRASH, `${this.peer.takeCrash() ?? 'the back-end died'} (no reply to ${requestName(step.request)})`);
          }
          throw new Finding(FindingKind.HANG, `no reply to ${step.label} and no close within ${this.options.replyTimeoutMs} ms`);
        }
        if (err instanceof PeerDisconnectedError || err instanceof MalformedMessageError) {
          this.closed = true;
          return { kind: 'closed', detail: err.message };
        }
        throw err;
      }
    }
  }

  /** Closes the connection. Idempotent. */
  close(): void {
    this.closed = true;
    this.conn.close();
  }
}
