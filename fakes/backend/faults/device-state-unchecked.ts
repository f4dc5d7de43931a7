/**
 * Fault `device-state-unchecked`: CHECK_DEVICE_STATE answers 0 whatever arrived, so a truncated
 * or corrupted migration stream is taken as valid and the destination runs on garbage state
 * (VU-MIG-012).
 * @module
 */
import { FrontendRequest, u64 } from '../../wire/index.js';
import { reply } from '../result.js';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const deviceStateUnchecked: FaultDefinition = {
  name: 'device-state-unchecked',
  summary: 'answers CHECK_DEVICE_STATE with 0 even for a truncated or corrupted stream',
  violates: ['VU-MIG-012'],
  caughtBy: ['backend/migration/device-state/damaged-stream-refused/'],
  create: () => ({
    post(message) {
      return message.request === FrontendRequest.CHECK_DEVICE_STATE ? reply(u64.encode(0n)) : undefined;
    },
  }),
};
