/**
 * Ring messages: SET_VRING_NUM / ADDR / BASE, GET_VRING_BASE, SET_VRING_KICK / CALL / ERR
 * (with the NOFD flag, VU-FD) and SET_VRING_ENABLE (vhost-user.rst "Ring states"; CHECKLIST
 * VU-RING, VU-MQ-002). Indices are checked against the device's queue count (VU-RING-013).
 * @module
 */
import { eventfdSignal } from '../../../native/index.js';
import { isValidPackedQueueSize, isValidSplitQueueSize, payloads } from '../../wire/index.js';
import { fail, ok, reply, type HandlerResult } from '../result.js';
import { closeQuietly, type RingState } from '../session-state.js';
import type { Handler, HandlerContext } from './context.js';

function ringOf(ctx: HandlerContext, index: number, request: string): RingState | HandlerResult {
  const r = ctx.state.ring(index);
  if (r === undefined) return fail(`${request}: ring ${index} is beyond the ${ctx.state.rings.length} rings of this device`, { rule: 'VU-RING-013' });
  return r;
}
const isResult = (v: RingState | HandlerResult): v is HandlerResult => 'kind' in v;

/** SET_VRING_NUM: 1..32768, a power of two for split rings (VU-RING-009). */
export const setVringNum: Handler<payloads.VringState> = ({ index, num }, ctx) => {
  const r = ringOf(ctx, index, 'SET_VRING_NUM');
  if (isResult(r)) return r;
  const valid = ctx.state.packed ? isValidPackedQueueSize(num) : isValidSplitQueueSize(num);
  if (!valid) return fail(`SET_VRING_NUM ${num} is not a valid ${ctx.state.packed ? 'packed' : 'split'} queue size`, { rule: 'VU-RING-009' });
  r.num = num;
  return ok();
};

/**
 * The first ring address of `addr` that no region of the memory table maps, or undefined. Ring
 * addresses are front-end user addresses (no IOMMU is offered); `log_guest_addr` is a GPA that
 * only matters with VHOST_VRING_F_LOG, so it is checked when logging starts, not here.
 */
function unmappedRingAddress(addr: payloads.VringAddr, ctx: HandlerContext): string | undefined {
  const mem = ctx.state.memory;
  if (mem === undefined) return undefined;
  const areas = [['descriptor', addr.descAddr], ['available', addr.availAddr], ['used', addr.usedAddr]] as const;
  for (const [what, uva] of areas) {
    if (uva > BigInt(Number.MAX_SAFE_INTEGER)) return `${what} address 0x${uva.toString(16)}`;
    try {
      mem.userToGpa(Number(uva));
    } catch {
      return `${what} address 0x${uva.toString(16)}`;
    }
  }
  return undefined;
}

/**
 * SET_VRING_ADDR: with a memory table in force, every ring address must be mapped, else the
 * request is refused and the old addresses stay (VU-PF-004: a failure is reported, not swallowed).
 * Without a table yet the addresses are stored as they are and checked when the ring starts, as
 * the spec allows. A running ring is re-translated at once (VU-RING-015).
 */
export const setVringAddr: Handler<payloads.VringAddr> = (addr, ctx) => {
  const r = ringOf(ctx, addr.index, 'SET_VRING_ADDR');
  if (isResult(r)) return r;
  const unmapped = unmappedRingAddress(addr, ctx);
  if (unmapped !== undefined) return fail(`SET_VRING_ADDR: ring ${addr.index} ${unmapped} is outside every memory region`, { rule: 'VU-MEM-008' });
  r.addr = addr;
  if (r.started) ctx.rings.rebuild(r);
  return ok();
};

/** SET_VRING_BASE: where consumption resumes (VU-RING-007/008); split bases keep bits 16–31 zero. */
export const setVringBase: Handler<payloads.VringState> = ({ index, num }, ctx) => {
  const r = ringOf(ctx, index, 'SET_VRING_BASE');
  if (isResult(r)) return r;
  if (!ctx.state.packed) {
    const bad = payloads.validateSplitBase(num);
    if (bad !== undefined) return fail(bad, { rule: 'VU-RING-004' });
  }
  r.base = num;
  return ok();
};

/** GET_VRING_BASE: stops the ring, drains it, returns the base (VU-RING-003/004/014). */
export const getVringBase: Handler<payloads.VringState> = ({ index }, ctx) => {
  const r = ringOf(ctx, index, 'GET_VRING_BASE');
  if (isResult(r)) return { ...r, close: true } as HandlerResult;
  // Processing is synchronous per burst, so nothing is in flight between messages: stopping
  // flushes the used elements of the last burst and that is the whole drain.
  const base = ctx.rings.stop(r);
  ctx.state.retireFd(r.kickFd);
  r.kickFd = undefined;
  ctx.state.event('ring-stopped', { ring: index, detail: `base 0x${base.toString(16)}` });
  return reply(payloads.vringState.encode({ index, num: base }));
};

type FdField = 'kickFd' | 'callFd' | 'errFd';

function setVringFd(request: string, field: FdField): Handler<payloads.VringFd> {
  return ({ index, noFd }, ctx) => {
    const r = ringOf(ctx, index, request);
    if (isResult(r)) return r;
    const fd = noFd ? undefined : ctx.fds.take(0);
    const old = r[field];
    r[field] = fd;
    // VU-FD-007: the previous fd is closed on replacement.
    if (field === 'kickFd') ctx.state.retireFd(old);
    else closeQuietly(old);
    if (field === 'kickFd') ctx.rings.start(r);
    else if (field === 'callFd' && fd !== undefined && r.started) {
      // A completion may have been signalled on the old fd just before the switch: one spurious
      // call on the new one keeps the driver from stalling (VU-RING-018).
      try {
        eventfdSignal(fd);
      } catch {
        // A full counter already means "signalled".
      }
    }
    return ok();
  };
}

/** SET_VRING_KICK: starts the ring (VU-RING-002); NOFD means the back-end polls (VU-FD-002). */
export const setVringKick = setVringFd('SET_VRING_KICK', 'kickFd');
/** SET_VRING_CALL: NOFD means no notifications (VU-FD-003). */
export const setVringCall = setVringFd('SET_VRING_CALL', 'callFd');
/** SET_VRING_ERR. */
export const setVringErr = setVringFd('SET_VRING_ERR', 'errFd');

/**
 * SET_VRING_ENDIAN (CROSS_ENDIAN): 0 little-, 1 big-endian, sent before the ring starts
 * (VU-RING-021). Other values and a running ring are refused; the choice matters only for a
 * legacy device (SessionState.ringBigEndian, VU-FEAT-008).
 */
export const setVringEndian: Handler<payloads.VringState> = ({ index, num }, ctx) => {
  const r = ringOf(ctx, index, 'SET_VRING_ENDIAN');
  if (isResult(r)) return r;
  if (num !== 0 && num !== 1) return fail(`SET_VRING_ENDIAN num ${num} is neither 0 (little-endian) nor 1 (big-endian)`, { rule: 'VU-RING-021' });
  if (r.started) return fail(`SET_VRING_ENDIAN on ring ${index}, which has already started`, { rule: 'VU-RING-021' });
  r.bigEndian = num === 1;
  return ok();
};

/** SET_VRING_ENABLE: num 1 enables, 0 disables; anything else is refused (VU-MQ-003). */
export const setVringEnable: Handler<payloads.VringState> = ({ index, num }, ctx) => {
  const r = ringOf(ctx, index, 'SET_VRING_ENABLE');
  if (isResult(r)) return r;
  if (num !== 0 && num !== 1) return fail(`SET_VRING_ENABLE num ${num} is neither 0 nor 1`);
  r.enabled = num === 1;
  if (r.started) ctx.rings.ensure(r);
  ctx.state.event(num === 1 ? 'ring-enabled' : 'ring-disabled', { ring: index });
  return ok();
};

/**
 * VRING_KICK (INBAND_NOTIFICATIONS, VU-INB-001): an in-band kick. A ring not started yet starts
 * now (a front-end without kick fds has nothing else to start it with); a started one is woken.
 * A registered kick fd keeps working beside it.
 */
export const vringKick: Handler<payloads.VringState> = ({ index }, ctx) => {
  const r = ringOf(ctx, index, 'VRING_KICK');
  if (isResult(r)) return r;
  if (!r.started) ctx.rings.start(r);
  else ctx.rings.kick();
  return ok();
};
