/**
 * Fault `leak-fds`: keeps a second descriptor of every fd the front-end sends (reopened through
 * /proc/self/fd), so fds the back-end closes — stray ones, refused ones, replaced kick/call fds,
 * a disconnected session's, stray or surplus ones on the inflight messages — stay open
 * (VU-MSG-010/011, VU-FD-007, VU-SESS-003, VU-RECON-006).
 * @module
 */
import { constants, openSync } from 'node:fs';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const leakFds: FaultDefinition = {
  name: 'leak-fds',
  summary: 'keeps a copy of every fd it receives open forever (fds it should close leak)',
  violates: ['VU-MSG-010', 'VU-MSG-011', 'VU-FD-007', 'VU-RECON-006'],
  caughtBy: [
    'framing/fds/', 'backend/memory/table-fd-count-mismatch-rejected', 'backend/memory/rem-mem-reg-ignores-mmap-offset',
    'backend/vring-fd/nofd-flag-with-fd-closes-fd', 'backend/vring-fd/replaced-fds-closed', 'backend/robustness/no-fd-growth-over-sessions',
    'backend/robustness/fd-flood', 'backend/reconnect/inflight-fds-closed/',
  ],
  // Found by the whole-suite self-test (VHOSTLAB_MUTANTS_FULL=1): these cases see the fault's effect too
  // (they move traffic or a device-state stream through it), which the sampled run does not require.
  mayAlsoCatch: ['backend/migration/device-state/'],
  create: () => {
    const kept: number[] = [];
    return {
      pre(message) {
        for (const fd of message.fds) {
          // O_RDWR keeps a pipe's write side open (the leak probes watch for it) without blocking;
          // eventfds and sockets cannot be reopened this way and are skipped.
          try {
            kept.push(openSync(`/proc/self/fd/${fd}`, constants.O_RDWR | constants.O_NONBLOCK));
          } catch {
            // Not reopenable: nothing to leak.
          }
        }
        return undefined;
      },
    };
  },
};
