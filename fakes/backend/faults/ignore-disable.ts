/**
 * Fault `ignore-disable`: rings are processed as if enabled: SET_VRING_ENABLE 0 is taken as 1 and
 * a ring is enabled as soon as it starts, so a disabled TX ring transmits and a disabled RX ring
 * is filled (VU-RING-011, VU-FEAT-004, VU-NET-005, VU-MQ-003).
 * @module
 */
import { FrontendRequest, payloads } from '../../wire/index.js';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const ignoreDisable: FaultDefinition = {
  name: 'ignore-disable',
  summary: 'processes disabled rings (SET_VRING_ENABLE 0 ignored; rings enabled on start)',
  violates: ['VU-RING-011', 'VU-FEAT-004', 'VU-NET-005'],
  caughtBy: [
    'backend/ring-states/disabled-tx-ring-no-side-effects', 'backend/ring-states/disabled-rx-ring-not-filled',
    'backend/ring-enable/disabled-until-enable-with-bit-30',
  ],
  // backend/multiqueue/disable-one-pair-keeps-others does not catch it: it only checks that the
  // other pairs keep working, not that the disabled one stops.
  create: () => ({
    pre(message) {
      if (message.request !== FrontendRequest.SET_VRING_ENABLE || message.size !== payloads.vringState.SIZE) return undefined;
      const v = payloads.vringState.decode(message.body);
      if (v.num !== 0) return undefined;
      const body = payloads.vringState.encode({ index: v.index, num: 1 });
      return { action: 'replace', message: { ...message, body, size: body.byteLength } };
    },
    post(message, result, state) {
      if (message.request !== FrontendRequest.SET_VRING_KICK || result.kind !== 'ok') return undefined;
      const r = state.ring(payloads.vringFd.decode(message.body).index);
      if (r !== undefined) r.enabled = true;
      return undefined;
    },
  }),
};
