/**
 * Fault `chatty-backend-channel`: the back-end sends BACKEND_CONFIG_CHANGE_MSG on the back-end
 * channel when it should be silent: after the first used-ring flush of a session whatever was
 * negotiated (CONFIG gates that request: VU-BE-003), and 50 ms after a GET_VRING_BASE that left no ring
 * running, while the device is suspended (VU-RING-016).
 * @module
 */
import { BackendRequest, FrontendRequest, REQUEST_FLAGS, encodeRaw } from '../../wire/index.js';
import type { FaultDefinition } from './fault.js';
import { perSession, sendOnBackendChannel } from './support.js';

const CONFIG_CHANGE = encodeRaw({ request: BackendRequest.BACKEND_CONFIG_CHANGE_MSG, flags: REQUEST_FLAGS, size: 0, body: new Uint8Array(0), fds: [] });

/** The fault. */
export const chattyBackendChannel: FaultDefinition = {
  name: 'chatty-backend-channel',
  summary: 'sends BACKEND_CONFIG_CHANGE_MSG without CONFIG negotiated and while the device is suspended',
  violates: ['VU-BE-003', 'VU-RING-016'],
  caughtBy: [
    'protocol-features/backend-req/silent-without-gated-features', 'backend/ring-states/suspended-device-is-quiet',
    // Waits for in-band calls on the channel and refuses any other back-end message there.
    'backend/inband/vring-call-without-call-fd',
  ],
  create: () => {
    const spoke = perSession(() => ({ done: false }));
    return {
      post(message, result, state) {
        // The state object outlives a connection: a new owner starts a new session.
        if (message.request === FrontendRequest.SET_OWNER) spoke(state).done = false;
        // A moment after the last ring stopped, when the front-end already counts on silence.
        if (message.request === FrontendRequest.GET_VRING_BASE && result.kind === 'reply' && !state.rings.some((r) => r.started)) {
          setTimeout(() => sendOnBackendChannel(state, CONFIG_CHANGE), 50).unref();
        }
        return undefined;
      },
      dataPath: {
        afterFlush(_ring, state) {
          const s = spoke(state);
          if (s.done) return;
          s.done = true;
          sendOnBackendChannel(state, CONFIG_CHANGE);
        },
      },
    };
  },
};
