/**
 * What every message handler gets: the session state, the device, the message's fds and the
 * ring lifecycle operations. Handlers receive a decoded, syntax-checked payload and return a
 * {@link HandlerResult}; header flags, REPLY_ACK and fd bookkeeping stay in the dispatcher.
 * @module
 */
import type { Device } from '../device.js';
import type { FdBag } from '../fd-bag.js';
import type { HandlerResult } from '../result.js';
import type { RingControl } from '../ring-control.js';
import type { SessionState } from '../session-state.js';

/** The context of one handler call. */
export interface HandlerContext {
  readonly state: SessionState;
  readonly device: Device;
  readonly fds: FdBag;
  readonly rings: RingControl;
}

/** A message handler for payload type `P`. */
export type Handler<P = never> = (payload: P, ctx: HandlerContext) => HandlerResult;
