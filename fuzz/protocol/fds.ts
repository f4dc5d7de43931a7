/**
 * Materialises the fds a step describes ({@link FdSpec}): eventfds and memfds, created fresh for
 * each send and closed right after it (SCM_RIGHTS gave the peer its own copies).
 * @module
 */
import { closeFd, eventfdCreate, memfdCreate } from '../../native/index.js';
import type { FdSpec } from '../arbitraries/step.js';

/** Creates the fds of `specs`. OWNERSHIP: the caller closes them with {@link closeFds}. */
export function openFds(specs: readonly FdSpec[]): number[] {
  const fds: number[] = [];
  try {
    for (const s of specs) fds.push(s.kind === 'eventfd' ? eventfdCreate() : memfdCreate('vhostlab-fuzz', s.size));
  } catch (err) {
    closeFds(fds);
    throw err;
  }
  return fds;
}

/** Closes fds, ignoring ones already closed. */
export function closeFds(fds: readonly number[]): void {
  for (const fd of fds) {
    try { closeFd(fd); } catch { /* already closed */ }
  }
}
