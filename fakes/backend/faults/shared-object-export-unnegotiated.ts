/**
 * Fault `shared-object-export-unnegotiated`: the back-end announces a shared object
 * (BACKEND_SHARED_OBJECT_ADD with a well-formed 16-byte UUID) on the back-end channel after the
 * first used-ring flush of a session, whether or not SHARED_OBJECT was negotiated, as an exporter
 * that checks only its own capability would (rust-vmm 94be3df "check shared_object flag";
 * VU-SHOBJ-002, VU-BE-003).
 * @module
 */
import { BackendRequest, FrontendRequest, REQUEST_FLAGS, encodeRaw, payloads } from '../../wire/index.js';
import type { FaultDefinition } from './fault.js';
import { perSession, sendOnBackendChannel } from './support.js';

/** A fixed version-4 UUID in RFC 4122 byte order: the object the fault pretends to export. */
const UUID = Uint8Array.from([0x5e, 0x1f, 0x0b, 0x1e, 0x7a, 0x3c, 0x4d, 0x21, 0x8f, 0x60, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
const BODY = payloads.sharedObject.encode({ uuid: UUID });
const ADD = encodeRaw({ request: BackendRequest.BACKEND_SHARED_OBJECT_ADD, flags: REQUEST_FLAGS, size: BODY.length, body: BODY, fds: [] });

/** The fault. */
export const sharedObjectExportUnnegotiated: FaultDefinition = {
  name: 'shared-object-export-unnegotiated',
  summary: 'sends BACKEND_SHARED_OBJECT_ADD on the back-end channel without SHARED_OBJECT negotiated',
  violates: ['VU-SHOBJ-002', 'VU-BE-003'],
  caughtBy: [
    'protocol-features/backend-req/silent-without-gated-features',
    // Waits for in-band calls on the channel and refuses any other back-end message there.
    'backend/inband/vring-call-without-call-fd',
  ],
  create: () => {
    const exported = perSession(() => ({ done: false }));
    return {
      post(message, _result, state) {
        // The state object outlives a connection: a new owner starts a new session.
        if (message.request === FrontendRequest.SET_OWNER) exported(state).done = false;
        return undefined;
      },
      dataPath: {
        afterFlush(_ring, state) {
          const e = exported(state);
          if (e.done) return;
          e.done = true;
          sendOnBackendChannel(state, ADD);
        },
      },
    };
  },
};
