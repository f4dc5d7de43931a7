/**
 * What the reference back-end offers (vhost-user.rst "Feature negotiation"): the transport and
 * ring features it services for every device, plus the device's own bits, and the protocol
 * features it implements. Only what works is offered (VU-FEAT-007, VU-PF-001): IN_ORDER holds
 * because every ring is completed in the order it was made available.
 * @module
 */
import { ProtocolFeature, VirtioFeature, featureMask } from '../wire/index.js';
import type { Device } from './device.js';

/** Transport and ring features offered for every device. */
export const TRANSPORT_FEATURES = featureMask(
  VirtioFeature.VERSION_1,
  VirtioFeature.PROTOCOL_FEATURES,
  VirtioFeature.LOG_ALL,
  VirtioFeature.RING_PACKED,
  VirtioFeature.EVENT_IDX,
  VirtioFeature.INDIRECT_DESC,
  VirtioFeature.IN_ORDER,
);

/** Protocol features offered. */
export const OFFERED_PROTOCOL_FEATURES = featureMask(
  ProtocolFeature.MQ,
  ProtocolFeature.LOG_SHMFD,
  ProtocolFeature.REPLY_ACK,
  ProtocolFeature.BACKEND_REQ,
  ProtocolFeature.CROSS_ENDIAN,
  ProtocolFeature.CONFIG,
  ProtocolFeature.INFLIGHT_SHMFD,
  ProtocolFeature.RESET_DEVICE,
  ProtocolFeature.CONFIGURE_MEM_SLOTS,
  ProtocolFeature.STATUS,
  ProtocolFeature.DEVICE_STATE,
  ProtocolFeature.INBAND_NOTIFICATIONS,
);

/** Feature choices of a back-end instance. */
export interface FeatureOptions {
  /** Virtio feature bits to withhold from the offer. */
  readonly withoutFeatures?: bigint;
  /** Protocol feature bits to withhold from the offer. */
  readonly withoutProtocolFeatures?: bigint;
}

/** The GET_FEATURES value for `device`. */
export const offeredFeatures = (device: Device, o: FeatureOptions = {}): bigint =>
  (TRANSPORT_FEATURES | device.features) & ~(o.withoutFeatures ?? 0n);

/** The GET_PROTOCOL_FEATURES value. */
export const offeredProtocolFeatures = (o: FeatureOptions = {}): bigint =>
  OFFERED_PROTOCOL_FEATURES & ~(o.withoutProtocolFeatures ?? 0n);
