/**
 * Fault `hang-on-oversize`: after a message whose size exceeds its request's payload, the
 * back-end stops answering that connection (every later message is swallowed) but keeps it
 * open, so the front-end hangs (VU-MSG-005, VU-MSG-012). Headers beyond the stream limit (64 KiB)
 * are still closed by the session; this covers the sizes the dispatcher sees.
 * @module
 */
import { Direction, requestSpec } from '../../wire/index.js';
import type { SessionState } from '../session-state.js';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const hangOnOversize: FaultDefinition = {
  name: 'hang-on-oversize',
  summary: 'stops reading and answering (connection left open) after an oversize message',
  violates: ['VU-MSG-005', 'VU-MSG-012'],
  caughtBy: ['framing/size/oversize-payload-rejected', 'backend/memory/table-fd-count-mismatch-rejected'],
  // A 9-region SET_MEM_TABLE is oversize too: the hung back-end never closes its fds.
  create: () => {
    const hung = new WeakSet<SessionState>();
    return {
      pre(message, state) {
        if (hung.has(state)) return { action: 'drop' };
        const spec = requestSpec(message.request, Direction.FRONTEND_TO_BACKEND);
        if (spec === undefined || message.size <= spec.payload.codec.maxSize) return undefined;
        hung.add(state);
        return { action: 'drop' };
      },
    };
  },
};
