/**
 * Fault `stale-memory-table`: a SET_MEM_TABLE that replaces an existing table is acked but
 * ignored; its fds are closed and the rings keep using the old mapping (VU-MEM-006).
 *
 * Built from the hooks: `pre` swaps the message for a harmless SET_OWNER (a repeat of which is a
 * no-op), `reply` puts SET_MEM_TABLE back into the ack's request field.
 * @module
 */
import { FrontendRequest, type RawMessage } from '../../wire/index.js';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const staleMemoryTable: FaultDefinition = {
  name: 'stale-memory-table',
  summary: 'acks a new SET_MEM_TABLE but keeps using the old table',
  violates: ['VU-MEM-006'],
  caughtBy: ['backend/memory/table-replaced-while-running', 'backend/lifetimes/no-access-after-table-replaced'],
  create: () => {
    const swapped = new WeakSet<RawMessage>();
    return {
      pre(message, state) {
        if (message.request !== FrontendRequest.SET_MEM_TABLE || state.memory === undefined) return undefined;
        const noop: RawMessage = { request: FrontendRequest.SET_OWNER, flags: message.flags, size: 0, body: new Uint8Array(0), fds: [] };
        swapped.add(noop);
        return { action: 'replace', message: noop };
      },
      reply: (frame, request) => (swapped.has(request) ? { ...frame, request: FrontendRequest.SET_MEM_TABLE } : undefined),
    };
  },
};
