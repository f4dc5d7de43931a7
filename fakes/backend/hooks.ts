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
 * returning it"), `onChain` for each popped chain (the strict layer's ownership checks),
 * `onBadChain` for each chain or ring the engine refused (a driver error), and `onRingStart` when
 * a live queue is built, with the position it will resume from (a fault may change it). The
 * session-level `reconnect` is asked by client mode before it connects again.
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

/** Where a ring resumes, as it is being (re)started; hooks may change the mutable fields. */
export interface RingStartEvent {
  /** Ring index. */
  readonly ring: number;
  /** Ring format. */
  readonly format: 'split' | 'packed';
  /** Next avail index (split: free-running u16; packed: slot). */
  lastAvailIdx: number;
  /** Used index (split: u16; packed: slot). */
  usedIdx: number;
  /** Packed only: driver wrap counter expected at `lastAvailIdx`. */
  availWrapCounter: boolean;
  /** Packed only: device wrap counter. */
  usedWrapCounter: boolean;
}

/** Hooks on the data path; called only when installed, so the fast path pays one check per burst. */
export interface DataPathHooks {
  /** A chain was popped from `ring`. */
  onChain?(ring: number, chain: Chain, state: SessionState): void;
  /** A used element is about to be written. */
  beforeUsed?(event: UsedEvent, state: SessionState): void;
  /** `ring`'s used index was just published. */
  afterFlush?(ring: number, state: SessionState): void;
  /** The engine refused a chain or a ring of `ring` (already reported as violation `rule`). */
  onBadChain?(ring: number, rule: string, reason: string, state: SessionState): void;
  /** A live queue of `ring` is being built at the position in `start`. */
  onRingStart?(start: RingStartEvent, state: SessionState): void;
  /**
   * Not a callback: a fault flag. Packed chains are followed through NEXT without checking that
   * their later slots are available (DPDK 22.11's fill_vec_buf_packed; VU-PK-002).
   */
  readonly uncheckedChainTail?: boolean;
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
  /** Client mode: whether to connect again after session number `sessions` ended (default yes). */
  reconnect?(sessions: number): boolean;
}

/**
 * One hook set that runs several in order: the first `pre` that does not continue wins, `post`
 * and `reply` results chain, data-path hooks all run, `reconnect` needs every set to agree. Only
 * data-path hooks some set installs are installed, so an unused one costs the hot path nothing.
 */
export function composeHooks(...sets: readonly BackendHooks[]): BackendHooks {
  if (sets.length === 0) return {};
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
    dataPath: dp.length === 0 ? undefined : composeDataPath(dp),
    reconnect: (n) => sets.every((s) => s.reconnect?.(n) ?? true),
  };
}

// Each hook is installed only when some set has it: `pushUsed` takes its slow path whenever
// `beforeUsed` exists, so a composed no-op would cost every packet.
function composeDataPath(dp: readonly DataPathHooks[]): DataPathHooks {
  const has = (k: keyof DataPathHooks): DataPathHooks[] => dp.filter((d) => d[k] !== undefined);
  const onChain = has('onChain');
  const beforeUsed = has('beforeUsed');
  const afterFlush = has('afterFlush');
  const onBadChain = has('onBadChain');
  const onRingStart = has('onRingStart');
  const out: { -readonly [K in keyof DataPathHooks]: DataPathHooks[K] } = {};
  if (dp.some((d) => d.uncheckedChainTail === true)) out.uncheckedChainTail = true;
  if (onChain.length > 0) out.onChain = (ring, chain, state) => onChain.forEach((d) => d.onChain!(ring, chain, state));
  if (beforeUsed.length > 0) out.beforeUsed = (e, state) => beforeUsed.forEach((d) => d.beforeUsed!(e, state));
  if (afterFlush.length > 0) out.afterFlush = (ring, state) => afterFlush.forEach((d) => d.afterFlush!(ring, state));
  if (onBadChain.length > 0) out.onBadChain = (ring, rule, reason, state) => onBadChain.forEach((d) => d.onBadChain!(ring, rule, reason, state));
  if (onRingStart.length > 0) out.onRingStart = (start, state) => onRingStart.forEach((d) => d.onRingStart!(start, state));
  return out;
}
