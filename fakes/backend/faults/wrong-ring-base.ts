/**
 * Fault `wrong-ring-base`: GET_VRING_BASE answers one more than the true next avail index
 * (packed: the avail slot, wrap bits kept), so a restart would skip a buffer (VU-RING-004).
 * @module
 */
import { FrontendRequest, payloads } from '../../wire/index.js';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const wrongRingBase: FaultDefinition = {
  name: 'wrong-ring-base',
  summary: 'GET_VRING_BASE returns the next avail index plus one',
  violates: ['VU-RING-004', 'VU-RING-008'],
  caughtBy: ['backend/ring-states/get-vring-base-index-and-wrap', 'backend/ring-states/restart-resumes-from-base',
    // A base one ahead of the last used chain looks like a chain still in flight (VU-RING-005).
    'backend/ring-states/get-vring-base-after-in-flight-completed', 'backend/ring-states/packed-base-mid-wrap',
    'backend/reconnect/restored-rings-with-pending-buffers'],
  create: () => ({
    reply(frame, request, state) {
      if (request.request !== FrontendRequest.GET_VRING_BASE || frame.size !== payloads.vringState.SIZE) return undefined;
      const v = payloads.vringState.decode(frame.body);
      const num = state.packed ? ((v.num & ~0x7fff) | ((v.num + 1) & 0x7fff)) >>> 0 : (v.num + 1) & 0xffff;
      const body = payloads.vringState.encode({ index: v.index, num });
      return { ...frame, body, size: body.byteLength };
    },
  }),
};
