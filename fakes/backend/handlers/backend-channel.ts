/**
 * SET_BACKEND_REQ_FD (vhost-user.rst ID 21, "Back-end communication"; CHECKLIST VU-BE-001): the
 * front-end hands over its end of the back-end channel. A second one replaces the first.
 * @module
 */
import { ok } from '../result.js';
import { closeQuietly } from '../session-state.js';
import type { Handler } from './context.js';

/** SET_BACKEND_REQ_FD: keeps the channel fd (the dispatcher checked there is exactly one). */
export const setBackendReqFd: Handler<undefined> = (_p, { state, fds }) => {
  closeQuietly(state.backendReqFd);
  state.backendReqFd = fds.take(0);
  state.event('backend-channel', { detail: `fd ${state.backendReqFd}` });
  return ok();
};
