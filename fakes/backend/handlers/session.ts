/**
 * Session-wide messages: SET_OWNER, RESET_OWNER, RESET_DEVICE, SET_STATUS, GET_STATUS
 * (CHECKLIST VU-SESS-002/004, VU-RST, VU-STAT; D11 on the overlap of the resets).
 * @module
 */
import { DeviceStatus, payloads } from '../../wire/index.js';
import { ok, reply } from '../result.js';
import type { Handler } from './context.js';

/** SET_OWNER: marks the session start; a repeat is harmless (VU-SESS-002). */
export const setOwner: Handler<undefined> = (_p, { state }) => {
  state.owner = true;
  return ok();
};

/** RESET_OWNER (deprecated): only stops and disables every ring (VU-SESS-004). */
export const resetOwner: Handler<undefined> = (_p, { state, rings }) => {
  rings.stopAll();
  for (const r of state.rings) r.enabled = false;
  state.event('reset-owner');
  return ok();
};

/**
 * RESET_DEVICE: every ring, the memory table, the log, inflight area, features and status back
 * to initial values; the connection, its owner and protocol features stay (VU-RST-001/002).
 */
export const resetDevice: Handler<undefined> = (_p, { state, device }) => {
  const { protocolFeatures, owner } = state;
  state.reset();
  state.protocolFeatures = protocolFeatures;
  state.owner = owner;
  device.reset();
  state.event('reset-device');
  return ok();
};

/**
 * SET_STATUS: records the status. FEATURES_OK does not stick without an acceptable SET_FEATURES
 * (VU-STAT-002). Status 0 is a virtio reset of the rings (VU-STAT-004, a SHOULD; D11).
 */
export const setStatus: Handler<bigint> = (value, { state, rings, device }) => {
  let status = Number(value & 0xffn);
  if ((status & DeviceStatus.FEATURES_OK) !== 0 && !state.featuresSet) status &= ~DeviceStatus.FEATURES_OK;
  if (status === 0 && state.status !== 0) {
    rings.stopAll();
    device.reset();
  }
  state.status = status;
  state.event('status', { detail: `0x${status.toString(16)}` });
  return ok();
};

/** GET_STATUS: the last value set (VU-STAT-001). */
export const getStatus: Handler<undefined> = (_p, { state }) => reply(payloads.u64.encode(BigInt(state.status)));
