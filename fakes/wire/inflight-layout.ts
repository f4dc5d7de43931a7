/**
 * The shared inflight area of GET_INFLIGHT_FD / SET_INFLIGHT_FD (vhost-user.rst "Inflight I/O
 * tracking", CHECKLIST §3.11): one region per queue. Only the headers and entries are normative;
 * the stride between queue regions is the back-end's choice (libvhost-user and DPDK both round
 * `header + entries` up to 64 bytes, and size the area as `num_queues × stride`).
 * @module
 */

/**
 * Split queue region: `0/8 features`, `8/2 version` (0 = uninitialised), `10/2 desc_num`,
 * `12/2 last_batch_head`, `14/2 used_idx`; then `desc_num` entries of 16 bytes from offset 16:
 * `0/1 inflight`, `6/2 next`, `8/8 counter`.
 */
export const INFLIGHT_SPLIT = {
  HEADER_SIZE: 16, FEATURES: 0, VERSION: 8, DESC_NUM: 10, LAST_BATCH_HEAD: 12, USED_IDX: 14,
  ENTRY_SIZE: 16, ENTRY_INFLIGHT: 0, ENTRY_NEXT: 6, ENTRY_COUNTER: 8,
} as const;

/**
 * Packed queue region: `0/8 features`, `8/2 version`, `10/2 desc_num`, `12/2 free_head`,
 * `14/2 old_free_head`, `16/2 used_idx`, `18/2 old_used_idx`, `20/1 used_wrap_counter`,
 * `21/1 old_used_wrap_counter`; entries of 32 bytes from offset 32.
 */
export const INFLIGHT_PACKED = { HEADER_SIZE: 32, VERSION: 8, DESC_NUM: 10, ENTRY_SIZE: 32 } as const;

/** The inflight area version back-ends write once they use a region. */
export const INFLIGHT_AREA_VERSION = 1;

/** Where back-ends align each queue's region (not normative, see the module comment). */
export const INFLIGHT_REGION_ALIGN = 64;

/** Bytes a queue region of `queueSize` entries needs at least (header plus entries). */
export const inflightRegionMinSize = (queueSize: number, packed: boolean): number =>
  packed ? INFLIGHT_PACKED.HEADER_SIZE + INFLIGHT_PACKED.ENTRY_SIZE * queueSize : INFLIGHT_SPLIT.HEADER_SIZE + INFLIGHT_SPLIT.ENTRY_SIZE * queueSize;
