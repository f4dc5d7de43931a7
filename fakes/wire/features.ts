/**
 * Feature bits carried in GET/SET_FEATURES (virtio device-independent and vhost bits, CHECKLIST
 * §4.1; virtio-net bits, §4.2), protocol feature bits of GET/SET_PROTOCOL_FEATURES (§4.3) and
 * virtio device status bits. Names are the spec names without their `VIRTIO_F_` /
 * `VIRTIO_NET_F_` / `VHOST_USER_PROTOCOL_F_` prefix, so logs, reports and the spec read alike.
 * Masks are bigint: the feature words are u64 and bits above 31 matter (VERSION_1 is bit 32).
 * @module
 */

/** Spec tier of a bit or message (CHECKLIST §0.2): T0 baseline … T3 proposed only. */
export type SpecTier = 'T0' | 'T1' | 'T2' | 'T3';

/** `VHOST_USER_F_PROTOCOL_FEATURES`: the back-end supports GET/SET_PROTOCOL_FEATURES ("PF30"). */
export const VHOST_USER_F_PROTOCOL_FEATURES = 30;
/** `VHOST_F_LOG_ALL`: the front-end has switched on dirty logging. */
export const VHOST_F_LOG_ALL = 26;

/** Device-independent virtio bits plus the vhost bits 26 and 30 (CHECKLIST §4.1). */
export const VirtioFeature = {
  NOTIFY_ON_EMPTY: 24,
  LOG_ALL: VHOST_F_LOG_ALL,
  ANY_LAYOUT: 27,
  INDIRECT_DESC: 28,
  EVENT_IDX: 29,
  PROTOCOL_FEATURES: VHOST_USER_F_PROTOCOL_FEATURES,
  VERSION_1: 32,
  /** Formerly `IOMMU_PLATFORM`. */
  ACCESS_PLATFORM: 33,
  RING_PACKED: 34,
  IN_ORDER: 35,
  ORDER_PLATFORM: 36,
  SR_IOV: 37,
  NOTIFICATION_DATA: 38,
  NOTIF_CONFIG_DATA: 39,
  RING_RESET: 40,
  ADMIN_VQ: 41,
  SUSPEND: 43,
} as const;
/** Name of a device-independent / vhost feature bit. */
export type VirtioFeatureName = keyof typeof VirtioFeature;

/** virtio-net device feature bits (`VIRTIO_NET_F_*`, CHECKLIST §4.2). */
export const NetFeature = {
  CSUM: 0,
  GUEST_CSUM: 1,
  CTRL_GUEST_OFFLOADS: 2,
  MTU: 3,
  MAC: 5,
  /** Legacy only. */
  GSO: 6,
  GUEST_TSO4: 7,
  GUEST_TSO6: 8,
  GUEST_ECN: 9,
  GUEST_UFO: 10,
  HOST_TSO4: 11,
  HOST_TSO6: 12,
  HOST_ECN: 13,
  HOST_UFO: 14,
  MRG_RXBUF: 15,
  STATUS: 16,
  CTRL_VQ: 17,
  CTRL_RX: 18,
  CTRL_VLAN: 19,
  CTRL_RX_EXTRA: 20,
  GUEST_ANNOUNCE: 21,
  MQ: 22,
  CTRL_MAC_ADDR: 23,
  /** Legacy only; shares bit 41 with the device-independent ADMIN_VQ. */
  GUEST_RSC4: 41,
  /** Legacy only. */
  GUEST_RSC6: 42,
  DEVICE_STATS: 50,
  HASH_TUNNEL: 51,
  VQ_NOTF_COAL: 52,
  NOTF_COAL: 53,
  GUEST_USO4: 54,
  GUEST_USO6: 55,
  HOST_USO: 56,
  HASH_REPORT: 57,
  GUEST_HDRLEN: 59,
  RSS: 60,
  RSC_EXT: 61,
  STANDBY: 62,
  SPEED_DUPLEX: 63,
} as const;
/** Name of a virtio-net feature bit. */
export type NetFeatureName = keyof typeof NetFeature;

/**
 * Protocol feature bits (`VHOST_USER_PROTOCOL_F_*`, CHECKLIST §4.3). Bits 20–23 changed meaning
 * during review (D1): these follow the newest QEMU text.
 */
export const ProtocolFeature = {
  MQ: 0,
  LOG_SHMFD: 1,
  RARP: 2,
  REPLY_ACK: 3,
  /** The spec text also calls it `NET_MTU`. */
  MTU: 4,
  /** Formerly `SLAVE_REQ`. */
  BACKEND_REQ: 5,
  CROSS_ENDIAN: 6,
  CRYPTO_SESSION: 7,
  PAGEFAULT: 8,
  CONFIG: 9,
  /** Formerly `SLAVE_SEND_FD`. */
  BACKEND_SEND_FD: 10,
  HOST_NOTIFIER: 11,
  INFLIGHT_SHMFD: 12,
  RESET_DEVICE: 13,
  INBAND_NOTIFICATIONS: 14,
  CONFIGURE_MEM_SLOTS: 15,
  STATUS: 16,
  XEN_MMAP: 17,
  SHARED_OBJECT: 18,
  DEVICE_STATE: 19,
  GET_VRING_BASE_INFLIGHT: 20,
  GPA_ADDRESSES: 21,
  SHMEM: 22,
  GET_VRING_BASE_SKIP_DRAIN: 23,
} as const;
/** Name of a protocol feature bit. */
export type ProtocolFeatureName = keyof typeof ProtocolFeature;

/** Older names still found in back-ends' logs and sources, mapped to the current bit. */
export const ProtocolFeatureAlias = { NET_MTU: 4, SLAVE_REQ: 5, SLAVE_SEND_FD: 10 } as const;

/** Tier of every protocol feature bit (CHECKLIST §4.3). */
export const PROTOCOL_FEATURE_TIER: Readonly<Record<ProtocolFeatureName, SpecTier>> = Object.freeze({
  MQ: 'T0', LOG_SHMFD: 'T0', RARP: 'T0', REPLY_ACK: 'T0', MTU: 'T0', BACKEND_REQ: 'T0', CROSS_ENDIAN: 'T0',
  CRYPTO_SESSION: 'T0', PAGEFAULT: 'T0', CONFIG: 'T0', BACKEND_SEND_FD: 'T0', HOST_NOTIFIER: 'T0',
  INFLIGHT_SHMFD: 'T0', RESET_DEVICE: 'T0', INBAND_NOTIFICATIONS: 'T0', CONFIGURE_MEM_SLOTS: 'T0', STATUS: 'T0',
  XEN_MMAP: 'T0', SHARED_OBJECT: 'T0', DEVICE_STATE: 'T0',
  GET_VRING_BASE_INFLIGHT: 'T1', GPA_ADDRESSES: 'T1', SHMEM: 'T1',
  GET_VRING_BASE_SKIP_DRAIN: 'T2',
});

/** Virtio device status bits (SET/GET_STATUS; virtio "Device Status Field"). */
export const DeviceStatus = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  /** virtio 1.4, with VIRTIO_F_SUSPEND. */
  SUSPEND: 16,
  DEVICE_NEEDS_RESET: 64,
  FAILED: 128,
} as const;
/** Name of a device status bit. */
export type DeviceStatusName = keyof typeof DeviceStatus;

/** Device types whose feature names {@link virtioFeatureNames} knows or may learn. */
export type DeviceType = 'net' | 'blk' | 'scsi' | 'fs' | 'gpu' | 'vsock' | 'input' | 'crypto' | 'generic';

/** A name → bit table such as {@link ProtocolFeature}. */
export type FeatureTable = Readonly<Record<string, number>>;

const U64_MASK = (1n << 64n) - 1n;

function checkBit(bit: number): void {
  if (!Number.isInteger(bit) || bit < 0 || bit > 63) throw new RangeError(`feature bit ${bit} is not in 0..63`);
}

/** The mask with exactly the given bits set (each in 0..63; throws RangeError otherwise). */
export function featureMask(...bits: number[]): bigint {
  let m = 0n;
  for (const b of bits) {
    checkBit(b);
    m |= 1n << BigInt(b);
  }
  return m;
}

/** True when bit `bit` (0..63) is set in `mask`. */
export function hasFeature(mask: bigint, bit: number): boolean {
  checkBit(bit);
  return ((mask >> BigInt(bit)) & 1n) === 1n;
}

/** `mask` with `bit` set. */
export const withFeature = (mask: bigint, bit: number): bigint => mask | featureMask(bit);
/** `mask` with `bit` cleared. */
export const withoutFeature = (mask: bigint, bit: number): bigint => mask & ~featureMask(bit) & U64_MASK;

/** The bits set in `mask` (low 64 bits only), ascending. */
export function featureBits(mask: bigint): number[] {
  const out: number[] = [];
  let m = mask & U64_MASK;
  for (let b = 0; m !== 0n; b++, m >>= 1n) if ((m & 1n) === 1n) out.push(b);
  return out;
}

/** Reverse lookup bit → first name in `tables` order, so earlier tables win shared bits. */
function nameOf(bit: number, tables: readonly FeatureTable[]): string | undefined {
  for (const t of tables) for (const k in t) if (t[k] === bit) return k;
  return undefined;
}

/**
 * Names of the bits set in `mask` by `table`, ascending by bit; bits the table does not name
 * come out as `BIT_n`, so nothing a peer offers is silently hidden.
 */
export function featureNames(mask: bigint, table: FeatureTable): string[] {
  return featureBits(mask).map((b) => nameOf(b, [table]) ?? `BIT_${b}`);
}

/** Names of the protocol feature bits in `mask` (unknown bits as `BIT_n`). */
export const protocolFeatureNames = (mask: bigint): string[] => featureNames(mask, ProtocolFeature);

/**
 * Names of the virtio feature bits in `mask`: device-independent names, plus virtio-net names
 * when `deviceType` is `'net'`. Device-independent names win on a shared bit (41: ADMIN_VQ over
 * the legacy-only GUEST_RSC4), because bits 24–49 are reserved for them in modern virtio.
 */
// `string & {}` keeps editor completion for DeviceType while accepting a profile's free-form type.
export function virtioFeatureNames(mask: bigint, deviceType?: DeviceType | (string & {})): string[] {
  const tables: FeatureTable[] = deviceType === 'net' ? [VirtioFeature, NetFeature] : [VirtioFeature];
  return featureBits(mask).map((b) => nameOf(b, tables) ?? `BIT_${b}`);
}

// DeviceStatus holds masks (1, 2, 4 …), featureNames wants bit numbers.
const DEVICE_STATUS_BITS: FeatureTable = Object.freeze(
  Object.fromEntries(Object.entries(DeviceStatus).map(([k, v]) => [k, Math.log2(v)])),
);

/** Names of the status bits set in `status` (unknown bits as `BIT_n`). */
export const deviceStatusNames = (status: number | bigint): string[] => featureNames(BigInt(status), DEVICE_STATUS_BITS);

/** `0x…` lower-case hex of a mask, e.g. `toHex(1n << 32n)` → `'0x100000000'`. */
export const toHex = (mask: bigint): string => (mask < 0n ? `-0x${(-mask).toString(16)}` : `0x${mask.toString(16)}`);
