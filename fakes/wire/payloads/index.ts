/**
 * Barrel of the payload families: one namespace per family (`vringState.decode`, …) so the
 * families' common export names (`decode`, `encode`, `SIZE`, `validate`, `codec`) do not clash.
 * @module
 */
export type { PayloadCodec, PayloadFamily, PayloadValue } from './codec.js';
export { describeValue } from './codec.js';
export * as config from './config.js';
export * as deviceState from './device-state.js';
export * as empty from './empty.js';
export * as inflight from './inflight.js';
export * as iotlb from './iotlb.js';
export * as log from './log.js';
export * as memRegion from './mem-region.js';
export * as memoryTable from './memory-table.js';
export * as mmapRequest from './mmap-request.js';
export * as opaque from './opaque.js';
export * as sharedObject from './shared-object.js';
export * as shmemConfig from './shmem-config.js';
export * as u64 from './u64.js';
export * as vringAddr from './vring-addr.js';
export * as vringArea from './vring-area.js';
export * as vringBase from './vring-base.js';
export * as vringFd from './vring-fd.js';
export * as vringState from './vring-state.js';
export type { Config, ConfigReply } from './config.js';
export type { DeviceState, DeviceStateReply } from './device-state.js';
export type { Inflight } from './inflight.js';
export type { Iotlb } from './iotlb.js';
export type { Log, LogReply } from './log.js';
export type { MemoryRegion, SingleMemoryRegion } from './mem-region.js';
export type { MemoryTable } from './memory-table.js';
export type { MmapRequest } from './mmap-request.js';
export type { SharedObject } from './shared-object.js';
export type { ShmemConfig } from './shmem-config.js';
export type { VringAddr } from './vring-addr.js';
export type { VringArea } from './vring-area.js';
export type { PackedBase } from './vring-base.js';
export type { VringFd } from './vring-fd.js';
export type { VringState } from './vring-state.js';
// The most used constants and helpers, flat, for convenience.
export { ConfigFlag, MAX_CONFIG_SIZE, makeConfig } from './config.js';
export { DEVICE_STATE_REPLY_NOFD, TransferDirection, TransferPhase, decodeDeviceStateReply, encodeDeviceStateReply } from './device-state.js';
export { IotlbPerm, IotlbType } from './iotlb.js';
export { VHOST_LOG_PAGE } from './log.js';
export { XenMmapFlag } from './mem-region.js';
export { MAX_REGIONS } from './memory-table.js';
export { MMAP_RW } from './mmap-request.js';
export { uuidFromString, uuidToString } from './shared-object.js';
export { MAX_SHMEM_REGIONS } from './shmem-config.js';
export { ACK_OK, rarpMac, rarpValue } from './u64.js';
export { VRING_F_LOG } from './vring-addr.js';
export {
  PACKED_INITIAL_BASE,
  decodePackedBase,
  decodeSplitBase,
  encodePackedBase,
  encodeSplitBase,
  validateSplitBase,
} from './vring-base.js';
export { VRING_IDX_MASK, VRING_NOFD_MASK, decodeVringFdValue, encodeVringFdValue } from './vring-fd.js';
export { VringEndian } from './vring-state.js';
