/**
 * Fault `log-writes-past-end`: every dirty-log update also sets a bit in the byte just after
 * `mmap_offset + mmap_size` (the off-by-one of a log sized in whole words rounded up), so memory
 * the front-end did not hand over is written (VU-MIG-006). Only where the log fd is large enough
 * to map that byte; the fault maps the fd itself, as the real bug would have.
 * @module
 */
import { fstatSync } from 'node:fs';
import { mmapShared, type Mapping } from '../../../native/index.js';
import { FrontendRequest, payloads } from '../../wire/index.js';
import type { SessionState } from '../session-state.js';
import type { FaultDefinition } from './fault.js';
import { perSession } from './support.js';

/** The fault. */
export const logWritesPastEnd: FaultDefinition = {
  name: 'log-writes-past-end',
  summary: 'sets a bit in the byte after the end of the dirty log on every update',
  violates: ['VU-MIG-006'],
  caughtBy: ['backend/migration/log-all-switched-on-under-traffic'],
  create: () => {
    // The over-long mapping of the last SET_LOG_BASE, and where the byte past the log is in it.
    const pastEnd = perSession<{ mapping?: Mapping; at: number }>(() => ({ at: 0 }));
    const release = (state: SessionState): void => {
      const p = pastEnd(state);
      p.mapping?.unmap();
      p.mapping = undefined;
    };
    return {
      pre(message, state) {
        if (message.request !== FrontendRequest.SET_LOG_BASE || message.size !== payloads.log.SIZE || message.fds.length !== 1) return undefined;
        release(state);
        const { mmapSize, mmapOffset } = payloads.log.decode(message.body);
        const end = Number(mmapOffset + mmapSize);
        try {
          if (fstatSync(message.fds[0]!).size <= end) return undefined;
          pastEnd(state).mapping = mmapShared(message.fds[0]!, end + 1, 0);
          pastEnd(state).at = end;
        } catch {
          // Not mappable: the handler refuses the log anyway.
        }
        return undefined;
      },
      post(message, result, state) {
        const p = pastEnd(state);
        const log = state.log;
        if (message.request !== FrontendRequest.SET_LOG_BASE || result.kind !== 'reply' || log === undefined || p.mapping === undefined) return undefined;
        const bytes = new Uint8Array(p.mapping.buffer);
        const mark = log.markRange.bind(log);
        log.markRange = (gpa, len) => {
          mark(gpa, len);
          bytes[p.at] = bytes[p.at]! | 1;
        };
        return undefined;
      },
    };
  },
};
