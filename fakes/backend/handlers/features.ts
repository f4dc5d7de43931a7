/**
 * Feature negotiation: GET/SET_FEATURES, GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM
 * (vhost-user.rst "Feature negotiation"; CHECKLIST VU-FEAT, VU-PF, VU-MQ-001).
 * @module
 */
import { payloads, protocolFeatureNames, toHex, virtioFeatureNames } from '../../wire/index.js';
import { fail, ok, reply } from '../result.js';
import type { Handler } from './context.js';

const u64 = (v: bigint): Uint8Array => payloads.u64.encode(v);

/** GET_FEATURES: the same value every time (VU-FEAT-001). */
export const getFeatures: Handler<undefined> = (_p, { state }) => reply(u64(state.offeredFeatures));

/** SET_FEATURES: refuses bits that were not offered (VU-FEAT-006); may come again while rings run (FEAT-005). */
export const setFeatures: Handler<bigint> = (value, { state }) => {
  const extra = value & ~state.offeredFeatures;
  if (extra !== 0n) {
    return fail(`SET_FEATURES acks bits that were not offered: ${virtioFeatureNames(extra, 'net').join(', ')}`, { rule: 'VU-FEAT-006' });
  }
  const missing = state.requiredFeatures & ~value;
  if (missing !== 0n) return fail(`this back-end requires ${virtioFeatureNames(missing, 'net').join(', ')}`, { rule: 'VU-FEAT-007' });
  state.features = value;
  state.featuresSet = true;
  state.event('features', { detail: `${toHex(value)} ${virtioFeatureNames(value, 'net').join(',')}` });
  return ok();
};

/** GET_PROTOCOL_FEATURES. */
export const getProtocolFeatures: Handler<undefined> = (_p, { state }) => reply(u64(state.offeredProtocolFeatures));

/** SET_PROTOCOL_FEATURES: refuses bits that were not offered (VU-PF-001/002). */
export const setProtocolFeatures: Handler<bigint> = (value, { state }) => {
  const extra = value & ~state.offeredProtocolFeatures;
  if (extra !== 0n) return fail(`SET_PROTOCOL_FEATURES acks bits that were not offered: ${protocolFeatureNames(extra).join(', ')}`, { rule: 'VU-PF-001' });
  state.protocolFeatures = value;
  state.event('protocol-features', { detail: `${toHex(value)} ${protocolFeatureNames(value).join(',')}` });
  return ok();
};

/** GET_QUEUE_NUM: the device's count (net: queue pairs, D7). */
export const getQueueNum: Handler<undefined> = (_p, { device }) => reply(u64(BigInt(device.queueNum)));
