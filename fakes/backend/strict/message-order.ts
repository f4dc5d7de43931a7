/**
 * Strict checks on the order of front-end messages (vhost-user.rst "Ring states", "Feature
 * negotiation"; CHECKLIST §2.3 start sequence). Only orders the spec makes meaningless are
 * flagged; the informative QEMU order of §2.3 is not enforced (QEMU itself sends SET_VRING_CALL
 * before SET_FEATURES, which is fine):
 * - memory and ring-setup messages before SET_OWNER (VU-SESS-001: only the queries listed there
 *   may precede it);
 * - SET_VRING_KICK (ring start) before SET_FEATURES: the ring format, EVENT_IDX and enable rules
 *   are not known yet (VU-RING-002, VU-FEAT-003/004);
 * - SET_VRING_ADDR or SET_VRING_KICK before any memory table: ring addresses are front-end
 *   addresses translated through the table's user addresses (VU-MEM-004);
 * - SET_VRING_ENABLE after a SET_FEATURES without bit 30 (VU-FEAT-003; the dispatcher also
 *   refuses it). Before SET_FEATURES it is tolerated when bit 30 is offered: QEMU 7.2 sends it
 *   while attaching the net peer, and DPDK's back-end accepts it;
 * - ring indices the device did not offer (VU-MQ-001: the front-end must not use more queues).
 * @module
 */
import { FrontendRequest, frontendRequestName, payloads, type RawMessage } from '../../wire/index.js';
import type { SessionState } from '../session-state.js';

/** A broken order rule. */
export interface OrderViolation {
  readonly rule: string;
  readonly detail: string;
  readonly ring?: number;
}

const RING_SETUP: ReadonlySet<number> = new Set([
  FrontendRequest.SET_VRING_NUM, FrontendRequest.SET_VRING_ADDR, FrontendRequest.SET_VRING_BASE, FrontendRequest.SET_VRING_KICK,
]);
const MEMORY: ReadonlySet<number> = new Set([FrontendRequest.SET_MEM_TABLE, FrontendRequest.ADD_MEM_REG]);
const VRING_STATE: ReadonlySet<number> = new Set([
  FrontendRequest.SET_VRING_NUM, FrontendRequest.SET_VRING_BASE, FrontendRequest.GET_VRING_BASE, FrontendRequest.SET_VRING_ENABLE,
]);
const VRING_FD: ReadonlySet<number> = new Set([FrontendRequest.SET_VRING_KICK, FrontendRequest.SET_VRING_CALL, FrontendRequest.SET_VRING_ERR]);

/** The ring index a ring message names, or undefined (not a ring message, or too short). */
function ringIndex(m: RawMessage): number | undefined {
  if (m.body.byteLength < 8) return undefined;
  if (VRING_STATE.has(m.request)) return payloads.vringState.decode(m.body.subarray(0, 8)).index;
  if (VRING_FD.has(m.request)) return payloads.vringFd.decode(m.body.subarray(0, 8)).index;
  if (m.request === FrontendRequest.SET_VRING_ADDR && m.body.byteLength >= 4) return new DataView(m.body.buffer, m.body.byteOffset, 4).getUint32(0, true);
  return undefined;
}

/** Order violations of `m`, judged against the session before `m` is handled. */
export function checkMessageOrder(m: RawMessage, state: SessionState): OrderViolation[] {
  const out: OrderViolation[] = [];
  const name = frontendRequestName(m.request);
  const ring = ringIndex(m);
  const at = ring === undefined ? {} : { ring };
  if (!state.owner && (RING_SETUP.has(m.request) || MEMORY.has(m.request))) {
    out.push({ rule: 'VU-SESS-001', detail: `${name} before SET_OWNER`, ...at });
  }
  if (m.request === FrontendRequest.SET_VRING_KICK && !state.featuresSet) {
    out.push({ rule: 'VU-RING-002', detail: `${name} starts ring ${ring ?? '?'} before SET_FEATURES`, ...at });
  }
  if ((m.request === FrontendRequest.SET_VRING_ADDR || m.request === FrontendRequest.SET_VRING_KICK) && state.memory === undefined) {
    out.push({ rule: 'VU-MEM-004', detail: `${name} for ring ${ring ?? '?'} before any memory table`, ...at });
  }
  if (m.request === FrontendRequest.SET_VRING_ENABLE && state.featuresSet && !state.enableByMessage) {
    out.push({ rule: 'VU-FEAT-003', detail: `${name} after SET_FEATURES without VHOST_USER_F_PROTOCOL_FEATURES (bit 30)`, ...at });
  }
  if (ring !== undefined && ring >= state.rings.length) {
    out.push({ rule: 'VU-MQ-001', detail: `${name} names ring ${ring}; the device has ${state.rings.length}`, ring });
  }
  return out;
}
