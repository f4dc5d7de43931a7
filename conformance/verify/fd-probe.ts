/**
 * The fd-leak probe of CHECKLIST §0.4: wherever the back-end should close an fd it receives, send
 * the write end of a fresh pipe and close our own copy; once every copy of the write end is
 * closed, the read end reports POLLHUP. No hang-up within the wait bound means the back-end kept
 * the fd (a leak, or worse: it may use it).
 * @module
 */
import { PollEvent, closeFd, pipe, pollAsync } from '../../native/index.js';
import { check, type Check } from './verify.js';

/** A set of pipes whose write ends go to the peer. */
export class FdProbes {
  private writeOpen = true;
  private closed = false;

  private constructor(private readonly readEnds: number[], private readonly writeEnds: number[]) {}

  /** `count` fresh pipes. */
  static create(count: number): FdProbes {
    const r: number[] = [];
    const w: number[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const [a, b] = pipe();
        r.push(a);
        w.push(b);
      }
    } catch (err) {
      for (const fd of [...r, ...w]) closeFd(fd);
      throw err;
    }
    return new FdProbes(r, w);
  }

  /** The write ends to attach to a message (still owned by the probe until {@link release}). */
  get fds(): number[] {
    return [...this.writeEnds];
  }

  /**
   * Closes our copies of the write ends, once they have been sent: from now on only the peer
   * holds them. OWNERSHIP: sendmsg duplicated them into the peer; ours must go or the read ends
   * never see a hang-up.
   */
  release(): void {
    if (!this.writeOpen) return;
    this.writeOpen = false;
    for (const fd of this.writeEnds) closeFd(fd);
  }

  /** Waits up to `waitMs` for every read end to hang up (the peer closed every write end). */
  async verifyClosed(waitMs: number, what: string): Promise<Check> {
    this.release();
    const deadline = Date.now() + waitMs;
    const pending = new Set(this.readEnds);
    while (pending.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const fds = [...pending];
      const revents = await pollAsync(fds.map((fd) => ({ fd, events: PollEvent.IN })), Math.min(left, 100));
      fds.forEach((fd, i) => { if (revents[i]! & (PollEvent.HUP | PollEvent.ERR)) pending.delete(fd); });
    }
    const n = this.readEnds.length;
    const expected = [`the back-end closes all ${n} fd(s) attached to ${what} within ${waitMs} ms`];
    return check(pending.size === 0, expected,
      pending.size === 0 ? `all ${n} closed` : `${pending.size} of ${n} fd(s) still open after ${waitMs} ms`);
  }

  /** Closes everything the probe still holds. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    for (const fd of this.readEnds) closeFd(fd);
  }
}
