/**
 * The fd-leak probe of CHECKLIST §0.4: hand the peer the write end of a fresh pipe and close our
 * copy; once the peer closes its copy too, the read end reports POLLHUP. No hang-up within the
 * wait bound means the peer kept (leaked or still uses) the fd.
 * @module
 */
import { closeFd, pipe, pollAsync, PollEvent } from '../../native/index.js';

/** One probe: send {@link FdProbe.writeFd}, then call {@link FdProbe.sent}. */
export class FdProbe {
  readonly readFd: number;
  /** The end to attach to a message. OWNERSHIP: ours until {@link sent} closes it. */
  readonly writeFd: number;
  #writeOpen = true;
  #readOpen = true;

  constructor() {
    [this.readFd, this.writeFd] = pipe();
  }

  /** Closes our copy of the write end once the message carrying it went out. Idempotent. */
  sent(): void {
    if (!this.#writeOpen) return;
    this.#writeOpen = false;
    closeFd(this.writeFd);
  }

  /** Waits up to `timeoutMs` for the peer to close its copy; true when it did. */
  async closedByPeer(timeoutMs: number): Promise<boolean> {
    this.sent();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = Math.max(0, deadline - Date.now());
      const [revents] = await pollAsync([{ fd: this.readFd, events: 0 }], Math.min(left, 200));
      if ((revents & (PollEvent.HUP | PollEvent.ERR)) !== 0) return true;
      if (left === 0) return false;
    }
  }

  /** Releases both ends we hold. Idempotent. */
  close(): void {
    this.sent();
    if (this.#readOpen) {
      this.#readOpen = false;
      closeFd(this.readFd);
    }
  }
}

/** Creates `n` probes. */
export const makeProbes = (n: number): FdProbe[] => Array.from({ length: n }, () => new FdProbe());

/**
 * Waits for every probe to be closed by the peer (sharing one deadline) and returns the indices
 * of those still open, then closes all probes.
 */
export async function stillOpen(probes: readonly FdProbe[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  const open: number[] = [];
  for (const [i, p] of probes.entries()) {
    if (!(await p.closedByPeer(Math.max(0, deadline - Date.now())))) open.push(i);
  }
  for (const p of probes) p.close();
  return open;
}
