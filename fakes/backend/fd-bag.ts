/**
 * The fds of one message while it is being dispatched. A handler that keeps an fd takes it
 * (OWNERSHIP moves to the handler's state); whatever nobody took is closed by the dispatcher once
 * the message is done, on success and on every error path alike (VU-MSG-010/011, CVE-2019-14818).
 * @module
 */
import { closeQuietly } from './session-state.js';

/** fds attached to one message. */
export class FdBag {
  private readonly fds: (number | undefined)[];

  constructor(fds: readonly number[]) {
    this.fds = [...fds];
  }

  /** How many fds arrived. */
  get count(): number {
    return this.fds.length;
  }

  /** Takes fd `i` (OWNERSHIP: the caller closes it from now on). Throws if already taken or absent. */
  take(i = 0): number {
    const fd = this.fds[i];
    if (fd === undefined) throw new RangeError(`fd ${i} of the message is absent or already taken`);
    this.fds[i] = undefined;
    return fd;
  }

  /** Looks at fd `i` without taking it (it will still be closed at the end). */
  peek(i = 0): number | undefined {
    return this.fds[i];
  }

  /** Closes every fd not taken. Idempotent. */
  closeRest(): number {
    let n = 0;
    for (let i = 0; i < this.fds.length; i++) {
      const fd = this.fds[i];
      if (fd !== undefined) {
        closeQuietly(fd);
        this.fds[i] = undefined;
        n++;
      }
    }
    return n;
  }
}
