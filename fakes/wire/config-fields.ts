/**
 * One read-only field of each device type's config space (virtio 1.2 §5: "The driver MUST NOT
 * write to" these; vhost-user SET_CONFIG, ID 25), for the checks that a back-end refuses a
 * front-end write to them (CHECKLIST VU-CFG-003). Offsets are from the start of the config
 * space.
 * @module
 */
import type { DeviceType } from './features.js';

/** A field of a config space. */
export interface ConfigField {
  /** The field's name in the virtio spec. */
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

/** A field no driver may write, per device type (types without a well-known layout are absent). */
export const READ_ONLY_CONFIG_FIELD: Readonly<Partial<Record<DeviceType, ConfigField>>> = Object.freeze({
  // virtio_net_config: mac 0/6, status 6/2, max_virtqueue_pairs 8/2, mtu 10/2.
  net: { name: 'max_virtqueue_pairs', offset: 8, size: 2 },
  // virtio_blk_config: capacity 0/8 (only writeback, at 32, is writable).
  blk: { name: 'capacity', offset: 0, size: 8 },
  // virtio_gpu_config: events_read 0/4, events_clear 4/4 (writable), num_scanouts 8/4.
  gpu: { name: 'num_scanouts', offset: 8, size: 4 },
  // virtio_fs_config: tag 0/36, num_request_queues 36/4.
  fs: { name: 'num_request_queues', offset: 36, size: 4 },
});
