/**
 * The handshake `vhostlab probe` runs: what a back-end offers, asked in QEMU's order
 * (CHECKLIST §2.3 step 1) without taking ownership or touching rings.
 * @module
 */
import {
  ProtocolFeature, VHOST_USER_F_PROTOCOL_FEATURES, hasFeature, protocolFeatureNames, toHex, virtioFeatureNames,
  type DeviceType,
} from '../wire/index.js';
import type { FrontendSession } from './session.js';

/** Memory regions every back-end must take in one SET_MEM_TABLE (VHOST_MEMORY_BASELINE_NREGIONS). */
export const BASELINE_MEM_SLOTS = 8;

/** A feature mask by hex value and by spec names. */
export interface FeatureReport {
  hex: string;
  names: string[];
}

/** What `probe` prints (`--json` shape, DESIGN.md). */
export interface ProbeResult {
  features: FeatureReport;
  protocolFeatures: FeatureReport;
  /** GET_QUEUE_NUM's answer (1 without MQ). For net back-ends this counts queue pairs (CHECKLIST D7). */
  queues: number;
  /** GET_MAX_MEM_SLOTS's answer, or the baseline 8 without CONFIGURE_MEM_SLOTS. */
  maxMemSlots: number;
}

/** Asks a back-end what it offers. */
export async function probeBackend(session: FrontendSession, deviceType: DeviceType = 'net'): Promise<ProbeResult> {
  const features = await session.getFeatures();
  let protocolFeatures = 0n;
  let queues = 1;
  let maxMemSlots = BASELINE_MEM_SLOTS;
  if (hasFeature(features, VHOST_USER_F_PROTOCOL_FEATURES)) {
    protocolFeatures = await session.getProtocolFeatures();
    // Agree to everything offered so the gated GETs below are allowed, as QEMU does.
    await session.setProtocolFeatures(protocolFeatures);
    if (hasFeature(protocolFeatures, ProtocolFeature.MQ)) queues = Number(await session.getQueueNum());
    if (hasFeature(protocolFeatures, ProtocolFeature.CONFIGURE_MEM_SLOTS)) maxMemSlots = Number(await session.getMaxMemSlots());
  }
  return {
    features: { hex: toHex(features), names: virtioFeatureNames(features, deviceType) },
    protocolFeatures: { hex: toHex(protocolFeatures), names: protocolFeatureNames(protocolFeatures) },
    queues,
    maxMemSlots,
  };
}
