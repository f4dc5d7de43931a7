/**
 * A front-end session that dies on purpose inside its N-th message: it sends the first bytes of
 * that message (with its fds, attached to the first byte) and closes the connection, then throws
 * {@link SessionCutError}. Wrapped around the ordinary start sequence (negotiate, memory table,
 * rings), it puts a disconnect anywhere in it — inside SET_MEM_TABLE, between SET_VRING_KICK and
 * SET_VRING_ENABLE (byte 0 of ENABLE), in a header.
 * @module
 */
import { FrontendSession, type SessionOptions } from '../../fakes/frontend/index.js';
import type { Connection } from '../../fakes/transport/index.js';
import { encodeRaw, requestName, type RawMessage } from '../../fakes/wire/index.js';

/** Thrown when the planned cut happened. */
export class SessionCutError extends Error {
  override readonly name = 'SessionCutError';
}

/** Where to cut: message index (0-based, counting every message sent) and byte within it. */
export interface CutPlan {
  readonly message: number;
  /** 0 ≤ fraction < 1 of the message's bytes sent before the close (0 = none: "between"). */
  readonly fraction: number;
}

/** A session that cuts itself as planned; without a plan it is an ordinary session. */
export class CuttingSession extends FrontendSession {
  /** Messages sent so far. */
  sentCount = 0;
  /** What was cut, once it was: `SET_MEM_TABLE@13/80`. */
  cutDescription: string | undefined;

  constructor(connection: Connection, private plan: CutPlan | undefined, options: SessionOptions = {}) {
    super(connection, options);
  }

  /** Drops the plan: from now on an ordinary session. */
  disarm(): void {
    this.plan = undefined;
  }

  override sendRaw(msg: RawMessage): void {
    if (this.plan !== undefined && this.sentCount === this.plan.message) {
      const bytes = encodeRaw(msg);
      const k = Math.min(bytes.byteLength - 1, Math.floor(this.plan.fraction * bytes.byteLength));
      this.cutDescription = `${requestName(msg.request)}@${k}/${bytes.byteLength}`;
      try {
        if (k > 0) this.connection.sendBytes(bytes.subarray(0, k), msg.fds, msg.request);
      } finally {
        this.connection.close();
      }
      throw new SessionCutError(`cut inside ${this.cutDescription}`);
    }
    this.sentCount++;
    super.sendRaw(msg);
  }
}
