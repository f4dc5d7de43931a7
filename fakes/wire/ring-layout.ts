/**
 * Virtqueue memory layouts (virtio 1.2 §2.7 split rings, §2.8 packed rings) and the virtio-net
 * header (CHECKLIST §3.16). Pure constants and offset helpers: the one place ring layouts live.
 * Every ring field is little-endian (VERSION_1); callers use DataView(..., true) or typed arrays
 * on x86-64, which is little-endian.
 * @module
 */

/** Split descriptor: `0/8 addr`, `8/4 len`, `12/2 flags`, `14/2 next`. */
export const SPLIT_DESC = { SIZE: 16, ALIGN: 16, ADDR: 0, LEN: 8, FLAGS: 12, NEXT: 14 } as const;

/** Descriptor flag bits shared by split and packed descriptors (bits 0–2). */
export const DescFlag = { NEXT: 1, WRITE: 2, INDIRECT: 4 } as const;

/** Packed descriptor flag bits beyond the shared ones (virtio §2.8.1). */
export const PackedDescFlag = { NEXT: 1, WRITE: 2, INDIRECT: 4, AVAIL: 1 << 7, USED: 1 << 15 } as const;

/** Split available ring: `0/2 flags`, `2/2 idx`, `4+2i ring[i]`, `4+2N used_event`. */
export const SPLIT_AVAIL = { ALIGN: 2, FLAGS: 0, IDX: 2, RING: 4, ENTRY: 2 } as const;

/** Split used ring: `0/2 flags`, `2/2 idx`, `4+8i {id u32, len u32}`, `4+8N avail_event`. */
export const SPLIT_USED = { ALIGN: 4, FLAGS: 0, IDX: 2, RING: 4, ENTRY: 8, ENTRY_ID: 0, ENTRY_LEN: 4 } as const;

/** `avail->flags` bit 0: the driver asks for no interrupt (ignored with EVENT_IDX). */
export const AVAIL_F_NO_INTERRUPT = 1;
/** `used->flags` bit 0: the device asks for no notification (ignored with EVENT_IDX). */
export const USED_F_NO_NOTIFY = 1;

/** Largest queue size either ring format allows. */
export const MAX_QUEUE_SIZE = 32768;

/** Byte size of a split descriptor table of `n` entries. */
export const splitDescTableSize = (n: number): number => SPLIT_DESC.SIZE * n;
/** Byte size of a split available ring of `n` entries, including `used_event`. */
export const splitAvailSize = (n: number): number => SPLIT_AVAIL.RING + SPLIT_AVAIL.ENTRY * n + 2;
/** Byte size of a split used ring of `n` entries, including `avail_event`. */
export const splitUsedSize = (n: number): number => SPLIT_USED.RING + SPLIT_USED.ENTRY * n + 2;
/** Offset of `used_event` inside the available ring. */
export const splitUsedEventOffset = (n: number): number => SPLIT_AVAIL.RING + SPLIT_AVAIL.ENTRY * n;
/** Offset of `avail_event` inside the used ring. */
export const splitAvailEventOffset = (n: number): number => SPLIT_USED.RING + SPLIT_USED.ENTRY * n;

/** Split queue sizes must be a power of two in 1..32768 (virtio §2.7). */
export const isValidSplitQueueSize = (n: number): boolean =>
  Number.isInteger(n) && n >= 1 && n <= MAX_QUEUE_SIZE && (n & (n - 1)) === 0;
/** Packed queue sizes are 1..32768 and need not be powers of two (virtio §2.8). */
export const isValidPackedQueueSize = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= MAX_QUEUE_SIZE;

/** Packed descriptor: `0/8 addr`, `8/4 len`, `12/2 id`, `14/2 flags`. */
export const PACKED_DESC = { SIZE: 16, ALIGN: 16, ADDR: 0, LEN: 8, ID: 12, FLAGS: 14 } as const;

/** Packed event suppression structure: `0/2` offset (bits 0–14) + wrap (bit 15), `2/2` flags. */
export const PACKED_EVENT = { SIZE: 4, ALIGN: 4, OFF_WRAP: 0, FLAGS: 2 } as const;
/** Packed event suppression flag values (virtio §2.8.10). */
export const PackedEventFlag = { ENABLE: 0, DISABLE: 1, DESC: 2 } as const;
/**
 * Bit 15 of a packed event's `off_wrap` and of each half of the packed vring base: the wrap
 * counter beside a 15-bit ring position. A fresh ring is at position 0 with wrap counter 1.
 */
export const PACKED_WRAP_BIT = 0x8000;
/** Bytes of a packed descriptor ring of `n` entries. */
export const packedDescRingSize = (n: number): number => PACKED_DESC.SIZE * n;

/**
 * The `vring_need_event` rule (virtio §2.7.7.2): notify when `newIdx` has passed `eventIdx`
 * since `oldIdx`, in 16-bit wrapping arithmetic.
 */
export const vringNeedEvent = (eventIdx: number, newIdx: number, oldIdx: number): boolean =>
  ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);

/**
 * virtio-net header (virtio net "Device Operation"): 12 bytes with VERSION_1 or MRG_RXBUF, 10 for
 * legacy without MRG_RXBUF, 20 with HASH_REPORT.
 */
export const NET_HDR = {
  FLAGS: 0, GSO_TYPE: 1, HDR_LEN: 2, GSO_SIZE: 4, CSUM_START: 6, CSUM_OFFSET: 8, NUM_BUFFERS: 10,
  HASH_VALUE: 12, HASH_REPORT: 16,
  SIZE_LEGACY: 10, SIZE_V1: 12, SIZE_HASH: 20,
} as const;
/** virtio-net header flag bits. */
export const NetHdrFlag = { NEEDS_CSUM: 1, DATA_VALID: 2, RSC_INFO: 4 } as const;
/** virtio-net header `gso_type` values. */
export const NetGsoType = { NONE: 0, TCPV4: 1, UDP: 3, TCPV6: 4, ECN: 0x80 } as const;

/** Net queue index convention: RX queues are even, TX queues odd (RX = 2k, TX = 2k + 1). */
export const netRxQueue = (pair: number): number => 2 * pair;
/** TX queue of queue pair `pair`. */
export const netTxQueue = (pair: number): number => 2 * pair + 1;
