/**
 * The request table: the one source of truth for every vhost-user request (CHECKLIST §2,
 * vhost-user.rst "Front-end message types" / "Back-end message types"; STYLE §1). One frozen
 * record per direction, keyed by request code, each entry giving the spec name, payload codec,
 * fd rule, reply rule, gating feature, spec tier and anchor. The back-end dispatcher, the
 * conformance cases' generic checks and the fuzz arbitraries are all derived from it, so an
 * entry here is a claim about the protocol: cite the CHECKLIST row when changing one.
 * @module
 */
import type { DeviceType, ProtocolFeatureName, SpecTier } from './features.js';
import type { PayloadCodec, PayloadFamily } from './payloads/codec.js';
import * as config from './payloads/config.js';
import * as deviceState from './payloads/device-state.js';
import * as empty from './payloads/empty.js';
import * as inflight from './payloads/inflight.js';
import * as iotlb from './payloads/iotlb.js';
import * as log from './payloads/log.js';
import * as memRegion from './payloads/mem-region.js';
import * as memoryTable from './payloads/memory-table.js';
import * as mmapRequest from './payloads/mmap-request.js';
import * as opaque from './payloads/opaque.js';
import * as sharedObject from './payloads/shared-object.js';
import * as shmemConfig from './payloads/shmem-config.js';
import * as u64 from './payloads/u64.js';
import * as vringAddr from './payloads/vring-addr.js';
import * as vringArea from './payloads/vring-area.js';
import * as vringFd from './payloads/vring-fd.js';
import * as vringState from './payloads/vring-state.js';

/** Front-end → back-end request codes (main socket), spec names without `VHOST_USER_`. */
export const FrontendRequest = {
  GET_FEATURES: 1,
  SET_FEATURES: 2,
  SET_OWNER: 3,
  RESET_OWNER: 4,
  SET_MEM_TABLE: 5,
  SET_LOG_BASE: 6,
  SET_LOG_FD: 7,
  SET_VRING_NUM: 8,
  SET_VRING_ADDR: 9,
  SET_VRING_BASE: 10,
  GET_VRING_BASE: 11,
  SET_VRING_KICK: 12,
  SET_VRING_CALL: 13,
  SET_VRING_ERR: 14,
  GET_PROTOCOL_FEATURES: 15,
  SET_PROTOCOL_FEATURES: 16,
  GET_QUEUE_NUM: 17,
  SET_VRING_ENABLE: 18,
  SEND_RARP: 19,
  NET_SET_MTU: 20,
  /** Formerly `SET_SLAVE_REQ_FD`. */
  SET_BACKEND_REQ_FD: 21,
  IOTLB_MSG: 22,
  SET_VRING_ENDIAN: 23,
  GET_CONFIG: 24,
  SET_CONFIG: 25,
  CREATE_CRYPTO_SESSION: 26,
  CLOSE_CRYPTO_SESSION: 27,
  POSTCOPY_ADVISE: 28,
  POSTCOPY_LISTEN: 29,
  POSTCOPY_END: 30,
  GET_INFLIGHT_FD: 31,
  SET_INFLIGHT_FD: 32,
  GPU_SET_SOCKET: 33,
  RESET_DEVICE: 34,
  VRING_KICK: 35,
  GET_MAX_MEM_SLOTS: 36,
  ADD_MEM_REG: 37,
  REM_MEM_REG: 38,
  SET_STATUS: 39,
  GET_STATUS: 40,
  GET_SHARED_OBJECT: 41,
  SET_DEVICE_STATE_FD: 42,
  CHECK_DEVICE_STATE: 43,
  GET_SHMEM_CONFIG: 44,
  GET_VRING_BASE_SKIP_DRAIN: 45,
} as const;
/** Name of a front-end request. */
export type FrontendRequestName = keyof typeof FrontendRequest;
/** Code of a front-end request (1–45). */
export type FrontendRequestCode = (typeof FrontendRequest)[FrontendRequestName];

/** Back-end → front-end request codes (back-end channel from SET_BACKEND_REQ_FD). */
export const BackendRequest = {
  BACKEND_IOTLB_MSG: 1,
  BACKEND_CONFIG_CHANGE_MSG: 2,
  BACKEND_VRING_HOST_NOTIFIER_MSG: 3,
  BACKEND_VRING_CALL: 4,
  BACKEND_VRING_ERR: 5,
  BACKEND_SHARED_OBJECT_ADD: 6,
  BACKEND_SHARED_OBJECT_REMOVE: 7,
  BACKEND_SHARED_OBJECT_LOOKUP: 8,
  BACKEND_SHMEM_MAP: 9,
  BACKEND_SHMEM_UNMAP: 10,
  BACKEND_MEM_READ: 11,
  BACKEND_MEM_WRITE: 12,
} as const;
/** Name of a back-end request. */
export type BackendRequestName = keyof typeof BackendRequest;
/** Code of a back-end request (1–12). */
export type BackendRequestCode = (typeof BackendRequest)[BackendRequestName];

/** Name of any request; the two directions share no name. */
export type RequestName = FrontendRequestName | BackendRequestName;

/** Which way a request travels. */
export const Direction = {
  /** Front-end → back-end, on the main socket. */
  FRONTEND_TO_BACKEND: 'frontend-to-backend',
  /** Back-end → front-end, on the back-end channel. */
  BACKEND_TO_FRONTEND: 'backend-to-frontend',
} as const;
/** A request direction. */
export type Direction = (typeof Direction)[keyof typeof Direction];

/** Most fds any message may carry (QEMU, libvhost-user, DPDK; back-end channel too). */
export const MAX_FDS = 8;

/**
 * fds a request carries (CHECKLIST §2 "FDs"):
 * - `none`: none; any attached fd is stray and must be closed (VU-MSG-010);
 * - `one`: exactly one;
 * - `optionalNoFd`: one unless bit 8 (NOFD) of the leading u64 is set, then none (VU-FD-*);
 * - `perRegion`: exactly one per memory-table region, in region order.
 */
export type FdRule = 'none' | 'one' | 'optionalNoFd' | 'perRegion';

/**
 * fds a reply carries: `none`; `one` (GET_INFLIGHT_FD, POSTCOPY_ADVISE); `optional` (one when
 * found: GET_SHARED_OBJECT, BACKEND_SHARED_OBJECT_LOOKUP); `optionalNoFd` (none iff bit 8 of the
 * reply u64 is set: SET_DEVICE_STATE_FD).
 */
export type ReplyFdRule = 'none' | 'one' | 'optional' | 'optionalNoFd';

/**
 * When a request is answered (CHECKLIST §1.3):
 * - `always`: a reply with `replyPayload`, whatever NEED_REPLY says (and only one, VU-MSG-009);
 * - `ack`: a u64 ack only with REPLY_ACK negotiated and NEED_REPLY set (0 = success);
 * - `ackOrAlways`: always (body `replyPayload`) when `alwaysReplyWhen` is negotiated, else `ack`.
 */
export type ReplyRule = 'always' | 'ack' | 'ackOrAlways';

/**
 * What must be negotiated before a request is valid. All fields present must hold. Back-end
 * channel requests additionally need BACKEND_REQ (the channel itself) — implied, not repeated.
 */
export interface Gate {
  /** A protocol feature (`P:X`). */
  readonly protocolFeature?: ProtocolFeatureName;
  /** A virtio feature bit (`F:n`), e.g. 33 ACCESS_PLATFORM. */
  readonly feature?: number;
  /** Name of {@link Gate.feature}, for messages. */
  readonly featureName?: string;
  /** Needs `VHOST_USER_F_PROTOCOL_FEATURES` (bit 30). */
  readonly protocolFeaturesBit?: 'PF30';
  /** For PF30: offered by GET_FEATURES is enough, or it must be negotiated by SET_FEATURES. */
  readonly stage?: 'offered' | 'negotiated';
  /** A protocol feature that must *not* be negotiated with this request (T1: postcopy vs mem slots). */
  readonly excludesProtocolFeature?: ProtocolFeatureName;
  /** Needed to attach fds (back-end channel: BACKEND_SEND_FD). */
  readonly fdProtocolFeature?: ProtocolFeatureName;
  /** The request only makes sense for this device type. */
  readonly deviceType?: DeviceType;
}

/** A payload reference: family name and codec. */
export interface PayloadRef<T = unknown> {
  /** Codec family name. */
  readonly family: PayloadFamily;
  /** The codec. */
  readonly codec: PayloadCodec<T>;
}

/** One request table entry. */
export interface RequestSpec {
  /** Spec name without `VHOST_USER_`, e.g. `SET_VRING_NUM`. */
  readonly name: RequestName;
  /** Request code. */
  readonly code: number;
  /** Which way the request travels. */
  readonly direction: Direction;
  /** Request body codec. */
  readonly payload: PayloadRef;
  /** Reply body codec when the rule is `always` / `ackOrAlways` (acks are always u64). */
  readonly replyPayload?: PayloadRef;
  /** A second, conditional reply body (postcopy: SET_MEM_TABLE, ADD_MEM_REG echo regions). */
  readonly altReplyPayload?: PayloadRef;
  /** fds the request carries. */
  readonly fds: FdRule;
  /** fds the reply carries. */
  readonly replyFds: ReplyFdRule;
  /** When a reply is owed. */
  readonly reply: ReplyRule;
  /** For `ackOrAlways`: the protocol feature that makes the reply unconditional. */
  readonly alwaysReplyWhen?: ProtocolFeatureName;
  /** What must be negotiated first. */
  readonly gate: Gate;
  /** Spec tier (CHECKLIST §0.2). */
  readonly tier: SpecTier;
  /** vhost-user.rst section holding the definition. */
  readonly section: string;
  /** Anchor text in that section: the spec's term, e.g. `VHOST_USER_SET_VRING_NUM`. */
  readonly anchor: string;
  /** Deprecated by the spec. */
  readonly deprecated?: boolean;
  /** One-line note on a divergence or quirk (CHECKLIST §7). */
  readonly note?: string;
  /**
   * For an `always` request whose u64 reply is its own error form: the value a refusal sends
   * (SET_DEVICE_STATE_FD: error code 1 with bit 8, "no fd", set).
   */
  readonly refusalReply?: bigint;
}

const ref = <T>(codec: PayloadCodec<T>): PayloadRef<T> => Object.freeze({ family: codec.family, codec });

/** Payload references by family, shared by the table entries. */
export const Payload = Object.freeze({
  empty: ref(empty.codec),
  u64: ref(u64.codec),
  vringState: ref(vringState.codec),
  vringFd: ref(vringFd.codec),
  vringAddr: ref(vringAddr.codec),
  memoryTable: ref(memoryTable.codec),
  memRegion: ref(memRegion.codec),
  log: ref(log.codec),
  logReply: ref(log.replyCodec),
  config: ref(config.codec),
  configReply: ref(config.replyCodec),
  inflight: ref(inflight.codec),
  iotlb: ref(iotlb.codec),
  vringArea: ref(vringArea.codec),
  sharedObject: ref(sharedObject.codec),
  deviceState: ref(deviceState.codec),
  mmapRequest: ref(mmapRequest.codec),
  shmemConfig: ref(shmemConfig.codec),
  opaque: ref(opaque.codec),
});

/** The ack body: every `ack` reply is a u64, 0 = success. */
export const ACK_PAYLOAD = Payload.u64;

/** Section of vhost-user.rst defining front-end requests. */
export const FRONTEND_SECTION = 'Front-end message types';
/** Section of vhost-user.rst defining back-end requests. */
export const BACKEND_SECTION = 'Back-end message types';

type Fields = Omit<RequestSpec, 'name' | 'code' | 'direction' | 'section' | 'anchor' | 'fds' | 'replyFds' | 'gate' | 'tier'> &
  Partial<Pick<RequestSpec, 'fds' | 'replyFds' | 'gate' | 'tier'>>;

function fe<const N extends FrontendRequestName, const F extends Fields>(name: N, f: F) {
  return Object.freeze({
    name,
    code: FrontendRequest[name],
    direction: Direction.FRONTEND_TO_BACKEND,
    section: FRONTEND_SECTION,
    anchor: `VHOST_USER_${name}` as const,
    fds: 'none' as FdRule,
    replyFds: 'none' as ReplyFdRule,
    gate: {} as Gate,
    tier: 'T0' as SpecTier,
    ...f,
  });
}

function be<const N extends BackendRequestName, const F extends Fields>(name: N, f: F) {
  return Object.freeze({
    name,
    code: BackendRequest[name],
    direction: Direction.BACKEND_TO_FRONTEND,
    section: BACKEND_SECTION,
    anchor: `VHOST_USER_${name}` as const,
    fds: 'none' as FdRule,
    replyFds: 'none' as ReplyFdRule,
    gate: {} as Gate,
    tier: 'T0' as SpecTier,
    ...f,
  });
}

const P = Payload;
const gateP = (protocolFeature: ProtocolFeatureName, extra: Omit<Gate, 'protocolFeature'> = {}): Gate =>
  Object.freeze({ protocolFeature, ...extra });

/** Every front-end request (CHECKLIST §2.1), keyed by code. */
export const FRONTEND_REQUEST_TABLE = Object.freeze({
  1: fe('GET_FEATURES', { payload: P.empty, reply: 'always', replyPayload: P.u64 }),
  2: fe('SET_FEATURES', {
    payload: P.u64, reply: 'ack', note: 'QEMU asks for an ack when VHOST_F_LOG_ALL is in the value',
  }),
  3: fe('SET_OWNER', { payload: P.empty, reply: 'ack', note: 'session start marker' }),
  4: fe('RESET_OWNER', {
    payload: P.empty, reply: 'ack', deprecated: true, note: 'deprecated: ignore it or just disable all rings',
  }),
  5: fe('SET_MEM_TABLE', {
    payload: P.memoryTable, fds: 'perRegion', reply: 'ack', altReplyPayload: P.memoryTable,
    note: 'QEMU sends size 8 + 32·n (D20); after POSTCOPY_LISTEN the back-end replies with its own mapping bases',
  }),
  6: fe('SET_LOG_BASE', {
    payload: P.log, fds: 'one', reply: 'ackOrAlways', alwaysReplyWhen: 'LOG_SHMFD', replyPayload: P.logReply,
    gate: gateP('LOG_SHMFD'), note: 'reply body is 0 bytes (DPDK) or the echoed 16-byte log (rust-vmm), D3',
  }),
  7: fe('SET_LOG_FD', { payload: P.empty, fds: 'one', reply: 'ack', note: 'optional; the fd is an eventfd' }),
  8: fe('SET_VRING_NUM', { payload: P.vringState, reply: 'ack' }),
  9: fe('SET_VRING_ADDR', {
    payload: P.vringAddr, reply: 'ack', note: 'QEMU asks for an ack when VHOST_VRING_F_LOG is set',
  }),
  10: fe('SET_VRING_BASE', { payload: P.vringState, reply: 'ack' }),
  11: fe('GET_VRING_BASE', {
    payload: P.vringState, reply: 'always', replyPayload: P.vringState, note: 'stops the ring; request num is reserved (0)',
  }),
  12: fe('SET_VRING_KICK', { payload: P.vringFd, fds: 'optionalNoFd', reply: 'ack' }),
  13: fe('SET_VRING_CALL', { payload: P.vringFd, fds: 'optionalNoFd', reply: 'ack' }),
  14: fe('SET_VRING_ERR', { payload: P.vringFd, fds: 'optionalNoFd', reply: 'ack' }),
  15: fe('GET_PROTOCOL_FEATURES', {
    payload: P.empty, reply: 'always', replyPayload: P.u64,
    gate: { protocolFeaturesBit: 'PF30', stage: 'offered' }, note: 'must work before SET_FEATURES',
  }),
  16: fe('SET_PROTOCOL_FEATURES', {
    payload: P.u64, reply: 'ack', gate: { protocolFeaturesBit: 'PF30', stage: 'offered' },
    note: 'must work before SET_FEATURES; whether it acks itself when enabling REPLY_ACK is unstated (D6)',
  }),
  17: fe('GET_QUEUE_NUM', {
    payload: P.empty, reply: 'always', replyPayload: P.u64, gate: gateP('MQ'),
    note: 'net back-ends count queue pairs, others virtqueues (D7)',
  }),
  18: fe('SET_VRING_ENABLE', {
    payload: P.vringState, reply: 'ack', gate: { protocolFeaturesBit: 'PF30', stage: 'negotiated' },
  }),
  19: fe('SEND_RARP', {
    payload: P.u64, reply: 'ack', gate: gateP('RARP', { deviceType: 'net' }), note: 'first 6 bytes of the u64 are the MAC',
  }),
  20: fe('NET_SET_MTU', {
    payload: P.u64, reply: 'ack', gate: gateP('MTU', { feature: 3, featureName: 'MTU', deviceType: 'net' }),
    note: 'the ack must report whether the MTU is valid',
  }),
  21: fe('SET_BACKEND_REQ_FD', {
    payload: P.empty, fds: 'one', reply: 'ack', gate: gateP('BACKEND_REQ'), note: 'formerly SET_SLAVE_REQ_FD',
  }),
  22: fe('IOTLB_MSG', {
    payload: P.iotlb, reply: 'always', replyPayload: P.u64, gate: { feature: 33, featureName: 'ACCESS_PLATFORM' },
  }),
  23: fe('SET_VRING_ENDIAN', {
    payload: P.vringState, reply: 'ack', gate: gateP('CROSS_ENDIAN'), note: 'legacy devices; once per ring before start',
  }),
  24: fe('GET_CONFIG', {
    payload: P.config, reply: 'always', replyPayload: P.configReply, gate: gateP('CONFIG'),
    note: 'reply has the request size; an empty reply body means error',
  }),
  25: fe('SET_CONFIG', { payload: P.config, reply: 'ack', gate: gateP('CONFIG') }),
  26: fe('CREATE_CRYPTO_SESSION', {
    payload: P.opaque, reply: 'always', replyPayload: P.opaque, gate: gateP('CRYPTO_SESSION', { deviceType: 'crypto' }),
    note: 'QEMU-internal session layout, kept opaque',
  }),
  27: fe('CLOSE_CRYPTO_SESSION', {
    payload: P.u64, reply: 'ack', gate: gateP('CRYPTO_SESSION', { deviceType: 'crypto' }),
  }),
  28: fe('POSTCOPY_ADVISE', {
    payload: P.empty, reply: 'always', replyPayload: P.empty, replyFds: 'one',
    gate: gateP('PAGEFAULT', { excludesProtocolFeature: 'CONFIGURE_MEM_SLOTS' }), note: 'reply carries the userfaultfd',
  }),
  29: fe('POSTCOPY_LISTEN', { payload: P.empty, reply: 'ack', gate: gateP('PAGEFAULT') }),
  30: fe('POSTCOPY_END', { payload: P.empty, reply: 'always', replyPayload: P.u64, gate: gateP('PAGEFAULT') }),
  31: fe('GET_INFLIGHT_FD', {
    payload: P.inflight, reply: 'always', replyPayload: P.inflight, replyFds: 'one', gate: gateP('INFLIGHT_SHMFD'),
    note: "the spec's per-message table says reply N/A; every implementation replies (D4)",
  }),
  32: fe('SET_INFLIGHT_FD', { payload: P.inflight, fds: 'one', reply: 'ack', gate: gateP('INFLIGHT_SHMFD') }),
  33: fe('GPU_SET_SOCKET', { payload: P.empty, fds: 'one', reply: 'ack', gate: { deviceType: 'gpu' } }),
  34: fe('RESET_DEVICE', { payload: P.empty, reply: 'ack', gate: gateP('RESET_DEVICE') }),
  35: fe('VRING_KICK', {
    payload: P.vringState, reply: 'ack', gate: gateP('INBAND_NOTIFICATIONS'), note: "num is 0; QEMU's front-end never sends it",
  }),
  36: fe('GET_MAX_MEM_SLOTS', {
    payload: P.empty, reply: 'always', replyPayload: P.u64, gate: gateP('CONFIGURE_MEM_SLOTS'),
  }),
  37: fe('ADD_MEM_REG', {
    payload: P.memRegion, fds: 'one', reply: 'ack', altReplyPayload: P.memRegion, gate: gateP('CONFIGURE_MEM_SLOTS'),
    note: 'spec field list swaps request/reply (D5); postcopy replies with the region',
  }),
  38: fe('REM_MEM_REG', {
    payload: P.memRegion, reply: 'ack', gate: gateP('CONFIGURE_MEM_SLOTS'),
    note: 'a back-end may tolerate one fd but must close it',
  }),
  39: fe('SET_STATUS', { payload: P.u64, reply: 'ack', gate: gateP('STATUS') }),
  40: fe('GET_STATUS', { payload: P.empty, reply: 'always', replyPayload: P.u64, gate: gateP('STATUS') }),
  41: fe('GET_SHARED_OBJECT', {
    payload: P.sharedObject, reply: 'always', replyPayload: P.empty, replyFds: 'optional', gate: gateP('SHARED_OBJECT'),
    note: 'dma-buf fd attached when found, none otherwise; empty body (rust-vmm)',
  }),
  42: fe('SET_DEVICE_STATE_FD', {
    payload: P.deviceState, fds: 'one', reply: 'always', replyPayload: P.u64, replyFds: 'optionalNoFd',
    gate: gateP('DEVICE_STATE'), note: 'reply u64: bits 0-7 error, bit 8 no fd returned', refusalReply: 0x101n,
  }),
  43: fe('CHECK_DEVICE_STATE', { payload: P.empty, reply: 'always', replyPayload: P.u64, gate: gateP('DEVICE_STATE') }),
  44: fe('GET_SHMEM_CONFIG', {
    payload: P.empty, reply: 'always', replyPayload: P.shmemConfig, gate: gateP('SHMEM'), tier: 'T1',
  }),
  45: fe('GET_VRING_BASE_SKIP_DRAIN', {
    payload: P.vringState, reply: 'always', replyPayload: P.vringState, gate: gateP('GET_VRING_BASE_SKIP_DRAIN'),
    tier: 'T2', note: 'only with GET_VRING_BASE_INFLIGHT (20) and INFLIGHT_SHMFD (12)',
  }),
} satisfies { readonly [K in FrontendRequestName as (typeof FrontendRequest)[K]]: RequestSpec & { readonly name: K } });

/** Every back-end request (CHECKLIST §2.2), keyed by code. All need BACKEND_REQ. */
export const BACKEND_REQUEST_TABLE = Object.freeze({
  1: be('BACKEND_IOTLB_MSG', {
    payload: P.iotlb, reply: 'ack', gate: { feature: 33, featureName: 'ACCESS_PLATFORM' }, note: 'type 1 miss or 4 access-fail',
  }),
  2: be('BACKEND_CONFIG_CHANGE_MSG', { payload: P.empty, reply: 'ack', gate: gateP('CONFIG') }),
  3: be('BACKEND_VRING_HOST_NOTIFIER_MSG', {
    payload: P.vringArea, fds: 'optionalNoFd', reply: 'ack', gate: gateP('HOST_NOTIFIER', { fdProtocolFeature: 'BACKEND_SEND_FD' }),
    note: 'one fd registers the notifier, none (NOFD bit) deregisters',
  }),
  4: be('BACKEND_VRING_CALL', {
    payload: P.vringState, reply: 'ack', gate: gateP('INBAND_NOTIFICATIONS'), note: "QEMU's front-end does not implement it (D12)",
  }),
  5: be('BACKEND_VRING_ERR', {
    payload: P.vringState, reply: 'ack', gate: gateP('INBAND_NOTIFICATIONS'), note: "QEMU's front-end does not implement it (D12)",
  }),
  6: be('BACKEND_SHARED_OBJECT_ADD', { payload: P.sharedObject, reply: 'ack', gate: gateP('SHARED_OBJECT') }),
  7: be('BACKEND_SHARED_OBJECT_REMOVE', {
    payload: P.sharedObject, reply: 'ack', gate: gateP('SHARED_OBJECT'), note: 'T1: only the exporter that added it may remove it',
  }),
  8: be('BACKEND_SHARED_OBJECT_LOOKUP', {
    payload: P.sharedObject, reply: 'always', replyPayload: P.u64, replyFds: 'optional', gate: gateP('SHARED_OBJECT'),
    note: 'reply: u64 status, dma-buf fd on success',
  }),
  9: be('BACKEND_SHMEM_MAP', {
    payload: P.mmapRequest, fds: 'one', reply: 'ack', gate: gateP('SHMEM', { fdProtocolFeature: 'BACKEND_SEND_FD' }), tier: 'T1',
  }),
  10: be('BACKEND_SHMEM_UNMAP', { payload: P.mmapRequest, reply: 'ack', gate: gateP('SHMEM'), tier: 'T1' }),
  11: be('BACKEND_MEM_READ', {
    payload: P.opaque, reply: 'ack', gate: gateP('SHMEM'), tier: 'T3',
    note: 'proposed on qemu-devel only (VhostUserMemRWMsg); layout not pinned, kept opaque',
  }),
  12: be('BACKEND_MEM_WRITE', {
    payload: P.opaque, reply: 'ack', gate: gateP('SHMEM'), tier: 'T3',
    note: 'proposed on qemu-devel only (VhostUserMemRWMsg); layout not pinned, kept opaque',
  }),
} satisfies { readonly [K in BackendRequestName as (typeof BackendRequest)[K]]: RequestSpec & { readonly name: K } });

/** The table type of the front-end direction. */
export type FrontendRequestTable = typeof FRONTEND_REQUEST_TABLE;
/** The table type of the back-end direction. */
export type BackendRequestTable = typeof BACKEND_REQUEST_TABLE;
/** Any table entry, with its literal types. */
export type AnyRequestEntry = FrontendRequestTable[keyof FrontendRequestTable] | BackendRequestTable[keyof BackendRequestTable];
/** The entry of request `N`, with its literal types (codec types included). */
export type RequestEntry<N extends RequestName> = Extract<AnyRequestEntry, { readonly name: N }>;

/** Front-end entries in code order. */
export const FRONTEND_REQUESTS: readonly RequestSpec[] = Object.freeze(
  Object.values(FRONTEND_REQUEST_TABLE).sort((a, b) => a.code - b.code),
);
/** Back-end entries in code order. */
export const BACKEND_REQUESTS: readonly RequestSpec[] = Object.freeze(
  Object.values(BACKEND_REQUEST_TABLE).sort((a, b) => a.code - b.code),
);

const BY_NAME: ReadonlyMap<string, RequestSpec> = new Map([...FRONTEND_REQUESTS, ...BACKEND_REQUESTS].map((s) => [s.name, s]));

/** The table of one direction, as a plain code → entry lookup. */
export function requestTable(direction: Direction = Direction.FRONTEND_TO_BACKEND): Readonly<Record<number, RequestSpec>> {
  return direction === Direction.FRONTEND_TO_BACKEND ? FRONTEND_REQUEST_TABLE : BACKEND_REQUEST_TABLE;
}

/** The entry for `code` in `direction` (default front-end → back-end), or undefined for unknown codes. */
export function requestSpec(code: number, direction: Direction = Direction.FRONTEND_TO_BACKEND): RequestSpec | undefined {
  // Own-property check: codes come off the wire, and `0`, `__proto__`-like keys must not resolve.
  const t = requestTable(direction);
  return Object.prototype.hasOwnProperty.call(t, code) ? t[code] : undefined;
}

/** The entry for a request name (either direction). */
export function requestSpecByName<N extends RequestName>(name: N): RequestEntry<N>;
export function requestSpecByName(name: string): RequestSpec | undefined;
export function requestSpecByName(name: string): RequestSpec | undefined {
  return BY_NAME.get(name);
}

/** Spec name of a front-end request code; unknown codes come out as `UNKNOWN_<n>`. */
export const frontendRequestName = (code: number): string =>
  requestSpec(code, Direction.FRONTEND_TO_BACKEND)?.name ?? `UNKNOWN_${code}`;

/** Spec name of a back-end request code; unknown codes come out as `UNKNOWN_<n>`. */
export const backendRequestName = (code: number): string =>
  requestSpec(code, Direction.BACKEND_TO_FRONTEND)?.name ?? `UNKNOWN_${code}`;

/** Spec name of `code` in `direction`; unknown codes come out as `UNKNOWN_<n>`. */
export const requestName = (code: number, direction: Direction = Direction.FRONTEND_TO_BACKEND): string =>
  direction === Direction.FRONTEND_TO_BACKEND ? frontendRequestName(code) : backendRequestName(code);

/**
 * How many fds the request described by `spec` must carry given its decoded `payload`:
 * exact count for every rule (NOFD and region count are read from the payload).
 */
export function expectedFdCount(spec: RequestSpec, payload: unknown): number {
  switch (spec.fds) {
    case 'none':
      return 0;
    case 'one':
      return 1;
    case 'perRegion':
      return (payload as memoryTable.MemoryTable).regions.length;
    case 'optionalNoFd': {
      // Kick/call/err carry a decoded VringFd; the host-notifier area keeps the raw u64.
      if (spec.payload.family === 'vring-area') return vringArea.areaHasNoFd(payload as vringArea.VringArea) ? 0 : 1;
      return (payload as vringFd.VringFd).noFd ? 0 : 1;
    }
  }
}

/** Human text of what an fd rule allows, for {@link UnexpectedFdsError}'s `expected`. */
export function fdRuleText(spec: RequestSpec, payload?: unknown): string {
  if (payload === undefined) {
    return { none: '0', one: '1', optionalNoFd: '1 (0 with NOFD bit)', perRegion: 'one per region' }[spec.fds];
  }
  const n = expectedFdCount(spec, payload);
  return spec.fds === 'perRegion' ? `${n} (nregions)` : spec.fds === 'optionalNoFd' ? `${n} (NOFD ${n === 0 ? 'set' : 'clear'})` : String(n);
}
