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
  caughtBy: ['framing/reply-header/flags-request-size', 'framing/need-reply/'],
  create: () => ({
    reply: (frame) => ({ ...frame, flags: REPLY_FLAGS | HeaderFlag.NEED_REPLY }),
  }),
};
