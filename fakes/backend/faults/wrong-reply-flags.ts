/**
 * Fault `wrong-reply-flags`: replies carry flags 0x5 | 0x8 (NEED_REPLY set) instead of exactly
 * 0x5; QEMU rejects such replies (VU-MSG-001, CHECKLIST D19).
 * @module
 */
import { HeaderFlag, REPLY_FLAGS } from '../../wire/index.js';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const wrongReplyFlags: FaultDefinition = {
  name: 'wrong-reply-flags',
  summary: 'sends every reply with flags 0x5|0x8 (NEED_REPLY set) instead of exactly 0x5',
  violates: ['VU-MSG-001'],
  caughtBy: ['profile/handshake-replies-valid'],
  // The probe's GET_FEATURES reply already has the bad flags: the run stops at the handshake.
  create: () => ({
    reply: (frame) => ({ ...frame, flags: REPLY_FLAGS | HeaderFlag.NEED_REPLY }),
  }),
};
