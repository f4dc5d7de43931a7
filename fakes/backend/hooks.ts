/**
 * Hook points of the reference back-end (STYLE §11; libvhost-user `process_msg`, DPDK
 * `pre_msg_handle`/`post_msg_handle`). The fault-injection layer (`--fault`) and the strict
 * checker (`--strict`) plug in here; the plain back-end installs none.
 *
 * Message hooks run around the generic dispatcher steps of every message: `pre` sees the raw
 * message before any check and may let it through, replace it, drop it silently or close the
 * connection; `post` sees the handler's result and may replace it; `reply` sees every frame the
 * dispatcher is about to send and may alter or suppress it (e.g. "drop the REPLY_ACK reply").
 * Data-path hooks run inside the ring engine: `beforeUsed` for each used element before it is
 * written (a fault may change `len`, ask for the element to be written `repeat` extra times or
 * skipped), `afterFlush` after a ring's used index was published (e.g. "write a buffer after
 * returning it"), and `onChain` for each popped chain (the strict layer's ownership checks).
 * @module
 */
import type { RawMessage } from '../wire/index.js';
import type { Chain } from '../virtqueue/index.js';
import type { HandlerResult } from './result.js';
import type { SessionState } from './session-state.js';

/** What a `pre` hook decides. `undefined` means continue. */
export type PreDecision =
  | { readonly action: 'continue' }
  /** Process this message instead (OWNERSHIP: fds of the original not in it are closed). */
  | { readonly action: 'replace'; readonly message: RawMessage }
  /** Swallow the message: no handler, no reply (its fds are closed). */
  | { readonly action: 'drop' }
  /** Close the connection. */
  | { readonly action: 'close'; readonly reason: string };

/** A used element about to be written; hooks may change the mutable fields. */
export interface UsedEvent {
  /** Ring index. */
  readonly ring: number;
  /** The chain being returned (read-only for hooks: it is shared with the driver). */
  readonly chain: Chain;
  /** Head id / buffer id to write. */
  id: number;
  /** Bytes written into the chain. */
  len: number;
  /** Extra copies of this element to write after it (a fault: "return a descriptor twice"). */
  repeat: number;
  /** Do not write this element at all. */
  skip: boolean;
}

/** Hooks on the data path; called only when installed, so the fast path pays one check per burst. */
export interface DataPathHooks {
  /** A chain was popped from `ring`. */
  onChain?(ring: number, chain: Chain, state: SessionState): void;
  /** A used element is about to be written. */
  beforeUsed?(event: UsedEvent, state: SessionState): void;
  /** `ring`'s used index was just published. */
  afterFlush?(ring: number, state: SessionState): void;
}

/** Every hook of the back-end. All optional. */
export interface BackendHooks {
  /** Before the generic steps. */
  pre?(message: RawMessage, state: SessionState): PreDecision | undefined;
  /** After the handler (or the generic step that refused the message). */
  post?(message: RawMessage, result: HandlerResult, state: SessionState): HandlerResult | undefined;
  /** Before a frame is sent; return `null` to suppress it, a message to send that instead. */
  reply?(frame: RawMessage, request: RawMessage, state: SessionState): RawMessage | null | undefined;
  /** Data-path hooks. */
  dataPath?: DataPathHooks;
}

/**
 * One hook set that runs several in order: the first `pre` that does not continue wins, `post`
 * and `reply` results chain, data-path hooks all run.
 */
export function composeHooks(...sets: readonly BackendHooks[]): BackendHooks {
  if (sets.length === 1) return sets[0];
  const dp = sets.map((s) => s.dataPath).filter((d): d is DataPathHooks => d !== undefined);
  return {
    pre(message, state) {
      for (const s of sets) {
        const d = s.pre?.(message, state);
        if (d !== undefined && d.action !== 'continue') return d;
      }
      return undefined;
    },
    post(message, result, state) {
      let r = result;
      for (const s of sets) r = s.post?.(message, r, state) ?? r;
      return r;
    },
    reply(frame, request, state) {
      let f: RawMessage | null = frame;
      for (const s of sets) {
        if (f === null) return null;
        const n: RawMessage | null | undefined = s.reply?.(f, request, state);
        if (n !== undefined) f = n;
      }
      return f;
    },
    dataPath: dp.length === 0 ? undefined : {
      onChain: (ring, chain, state) => dp.forEach((d) => d.onChain?.(ring, chain, state)),
      beforeUsed: (e, state) => dp.forEach((d) => d.beforeUsed?.(e, state)),
      afterFlush: (ring, state) => dp.forEach((d) => d.afterFlush?.(ring, state)),
    },
  };
}
