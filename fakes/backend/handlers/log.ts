/**
 * Dirty logging: SET_LOG_BASE (LOG_SHMFD) and SET_LOG_FD (vhost-user.rst "Migration";
 * CHECKLIST VU-MIG-001..008). The log fd is not kept: the mapping outlives it.
 * @module
 */
import { DirtyLog } from '../dirty-log.js';
import { fail, ok, reply } from '../result.js';
import { closeQuietly } from '../session-state.js';
import type { payloads } from '../../wire/index.js';
import type { Handler } from './context.js';

/** SET_LOG_BASE: maps the log; the reply has an empty body, as DPDK's (D3). */
export const setLogBase: Handler<payloads.Log> = (log, { state, fds }) => {
  let mapped: DirtyLog;
  try {
    mapped = DirtyLog.map(fds.peek(0)!, log.mmapSize, log.mmapOffset);
  } catch (e) {
    return fail(`SET_LOG_BASE refused: ${(e as Error).message}`, { rule: 'VU-MIG-002', errorBody: undefined });
  }
  state.log?.close();
  state.log = mapped;
  state.event('log-base', { detail: `${log.mmapSize} bytes at offset ${log.mmapOffset}` });
  return reply(new Uint8Array(0));
};

/** SET_LOG_FD: keeps the eventfd (signalling it is optional, VU-MIG-008). */
export const setLogFd: Handler<undefined> = (_p, { state, fds }) => {
  closeQuietly(state.logFd);
  state.logFd = fds.take(0);
  return ok();
};
