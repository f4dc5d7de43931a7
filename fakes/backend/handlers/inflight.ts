/**
 * Inflight I/O tracking: GET_INFLIGHT_FD / SET_INFLIGHT_FD (vhost-user.rst "Inflight I/O
 * tracking"; CHECKLIST VU-RECON-001..008). GET creates a zeroed area and hands its fd over; the
 * front-end keeps it across our restarts and gives it back with SET, which is what lets a
 * restarted back-end resubmit unfinished heads.
 * @module
 */
import { InflightArea } from '../inflight.js';
import { fail, ok, reply } from '../result.js';
import { payloads } from '../../wire/index.js';
import type { Handler } from './context.js';

/** GET_INFLIGHT_FD: a new zeroed area for `num_queues` × `queue_size`; replies with its fd. */
export const getInflightFd: Handler<payloads.Inflight> = (req, { state, device }) => {
  let created;
  try {
    created = InflightArea.create(req.numQueues, req.queueSize, state.packed, device.maxQueues);
  } catch (e) {
    return fail(`GET_INFLIGHT_FD refused: ${(e as Error).message}`, { rule: 'VU-RECON-005', close: true });
  }
  // The memfd starts zeroed (version 0): our mapping is not needed once the fd exists.
  created.area.close();
  const body = payloads.inflight.encode({ mmapSize: BigInt(created.size), mmapOffset: 0n, numQueues: req.numQueues, queueSize: req.queueSize });
  return reply(body, [created.fd]);
};

/** SET_INFLIGHT_FD: maps the front-end's area; a new one replaces any stale state (VU-RECON-007). */
export const setInflightFd: Handler<payloads.Inflight> = (req, { state, fds, device }) => {
  let area: InflightArea;
  try {
    area = InflightArea.map(fds.peek(0)!, req.mmapSize, req.mmapOffset, req.numQueues, req.queueSize, state.packed, device.maxQueues);
  } catch (e) {
    return fail(`SET_INFLIGHT_FD refused: ${(e as Error).message}`, { rule: 'VU-RECON-005' });
  }
  state.inflight?.close();
  state.inflight = area;
  state.event('inflight', { detail: `${req.numQueues} queues of ${req.queueSize}` });
  return ok();
};
