/**
 * Fault `ack-refused-config`: a SET_CONFIG the device refuses (a read-only field, no migration
 * flag) is not applied but acked 0, so the front-end believes the write took (VU-CFG-003) — what
 * libvhost-user back-ends do when their set_config callback fails or ignores the field.
 * @module
 */
import { FrontendRequest } from '../../wire/index.js';
import { ok } from '../result.js';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const ackRefusedConfig: FaultDefinition = {
  name: 'ack-refused-config',
  summary: 'acks 0 a SET_CONFIG it refused to apply',
  violates: ['VU-CFG-003'],
  caughtBy: ['backend/device-state/set-config-read-only-field-refused'],
  create: () => ({
    post(message, result) {
      if (message.request !== FrontendRequest.SET_CONFIG || result.kind !== 'error') return undefined;
      return ok();
    },
  }),
};
