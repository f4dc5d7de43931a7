/**
 * Device config space: GET_CONFIG / SET_CONFIG (vhost-user.rst IDs 24/25; CHECKLIST VU-CFG).
 * Requests outside the config space or over 256 bytes get GET_CONFIG's error form, an empty
 * body (VU-CFG-001/002).
 * @module
 */
import { MAX_CONFIG_SIZE, payloads } from '../../wire/index.js';
import { fail, ok, reply } from '../result.js';
import type { Handler } from './context.js';

const EMPTY = new Uint8Array(0);

/** GET_CONFIG: `size` bytes from `offset`, echoing offset/size/flags. */
export const getConfig: Handler<payloads.Config> = (req, { state, device }) => {
  const space = device.readConfig(state.features);
  if (req.size > MAX_CONFIG_SIZE || req.offset + req.size > space.length) {
    return fail(`GET_CONFIG [${req.offset}, +${req.size}) is outside the ${space.length}-byte config space`, { rule: 'VU-CFG-002', errorBody: EMPTY });
  }
  const data = space.slice(req.offset, req.offset + req.size);
  return reply(payloads.config.encode({ offset: req.offset, size: req.size, flags: req.flags, data }));
};

/** SET_CONFIG: the device decides which fields are writable (VU-CFG-003). */
export const setConfig: Handler<payloads.Config> = (req, { device }) => {
  const why = device.writeConfig(req.offset, req.data, req.flags === payloads.ConfigFlag.MIGRATION);
  return why === undefined ? ok() : fail(`SET_CONFIG refused: ${why}`, { rule: 'VU-CFG-003' });
};
