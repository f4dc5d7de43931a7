/**
 * The conformance case model (STYLE §17–§26): a case is immutable data plus a `run` function; a
 * run produces a {@link Verdict} that the runner turns into a `CaseResult` of the result document.
 * Cases never keep counters; the catalogue and the results are separate.
 *
 * A case talks to the peer under test only through its {@link CaseContext}: fresh front-end
 * sessions (connected or accepted, whatever the profile's mode), restarting the peer, local
 * introspection (pid, open fds) where the peer runs here, and the evidence log.
 * @module
 */
import type { FrontendSession } from '../fakes/frontend/index.js';
import type { DeviceType } from '../fakes/wire/index.js';

/** Requirement levels of CHECKLIST §0.3. */
export type Level = 'MUST' | 'SHOULD' | 'MAY' | 'ROBUST' | 'INTEROP';

/** Which side the case tests. */
export type Role = 'backend' | 'frontend';

/** Where in the spec a case comes from. */
export interface SpecAnchor {
  /** 'vhost-user' (QEMU docs/interop/vhost-user.rst) or 'virtio' (OASIS virtio 1.2). */
  doc: 'vhost-user' | 'virtio';
  /** Section heading or anchor, e.g. 'Ring states', 'REPLY_ACK', '2.7.7'. */
  anchor: string;
  /** The sentence(s) the case checks, paraphrased. */
  quote?: string;
}

/** What a case needs from the peer and the run. */
export interface CaseNeeds {
  /** Virtio feature bits the back-end must offer (else the case is skipped, with the reason). */
  features?: number[];
  /** Protocol feature bits the back-end must offer. */
  protocolFeatures?: number[];
  /** The runner must be able to restart the peer (it started it). */
  restartablePeer?: boolean;
  /** The peer runs on this machine and its pid is known (fd counting). */
  localPeer?: boolean;
  /** The profile's socket mode, when the case only makes sense in one. */
  mode?: 'server' | 'client';
  /** The case moves packets through a looping net back-end. */
  loopingNet?: boolean;
  /**
   * The case needs a peer with no history (e.g. it counts the peer's fds or relies on nothing
   * earlier cases left behind): the runner restarts the peer before it. Implies restartablePeer.
   */
  cleanPeer?: boolean;
}

/** An immutable conformance case. */
export interface ConformanceCase {
  /** Stable slug, e.g. `backend/reply-ack/nack-on-handler-failure`; prefixes select groups. */
  readonly id: string;
  /** One-line title. */
  readonly title: string;
  /** Group for reports (JUnit testsuite), e.g. 'framing', 'memory', 'ring-lifecycle'. */
  readonly area: string;
  /** Requirement ids from CHECKLIST §5 that this case checks. */
  readonly requirements: readonly string[];
  readonly level: Level;
  readonly role: Role;
  /** Device types the case applies to; omitted means every type. */
  readonly deviceTypes?: readonly DeviceType[];
  readonly spec: SpecAnchor;
  /** What the tester does, in a sentence or two. */
  readonly description: string;
  readonly needs?: CaseNeeds;
  /** Per-case time-out in ms (default from the runner, 20 s). */
  readonly timeoutMs?: number;
  /** Runs the case. Throwing counts as an `error` verdict, not a failure. */
  run(ctx: CaseContext): Promise<Verdict>;
}

/** The outcome of one case run, before expectations are applied. */
export type Verdict =
  | { status: 'pass'; detail?: string }
  | { status: 'fail'; expected: string[]; actual: string; detail?: string }
  | { status: 'skip'; reason: string };

/** What an observation of the peer was (STYLE §21: a closed set, not exceptions). */
export type Observation =
  | { kind: 'reply'; request: number; flags: number; size: number; body: Uint8Array; fds: number[] }
  | { kind: 'ack'; request: number; status: bigint }
  | { kind: 'closed' }
  | { kind: 'timeout'; afterMs: number }
  | { kind: 'unexpected'; description: string };

/** What the runner knows about the peer, from its profile and a probe at the start of the run. */
export interface PeerInfo {
  deviceType: DeviceType;
  /** 'server': the peer listens and vhostlab connects; 'client': vhostlab listens. */
  mode: 'server' | 'client';
  /** GET_FEATURES of a fresh session. */
  features: bigint;
  /** GET_PROTOCOL_FEATURES (0 without bit 30). */
  protocolFeatures: bigint;
  /** GET_QUEUE_NUM, or 1. */
  queueNum: number;
  /** GET_MAX_MEM_SLOTS, or 8. */
  maxMemSlots: number;
  /** The peer's pid when it runs on this machine and the runner started it. */
  pid?: number;
  /** Whether the runner can restart the peer. */
  restartable: boolean;
}

/** Everything a case may use. */
export interface CaseContext {
  readonly peer: PeerInfo;
  /** Quiet window for "does not happen" checks (CHECKLIST §0.4; default 200 ms). */
  readonly quietMs: number;
  /** Bound for "happens" checks (default 5000 ms). */
  readonly waitMs: number;
  /** Aborted when the case's time-out expires; long loops should check it. */
  readonly signal: AbortSignal;
  /**
   * Opens a fresh front-end session to the peer (connects, or accepts its reconnect in client
   * mode). The runner closes every session a case opened when the case ends.
   */
  openSession(options?: { replyTimeoutMs?: number }): Promise<FrontendSession>;
  /** Kills the peer (SIGKILL) and starts it again; resolves when it is reachable. */
  restartPeer(): Promise<void>;
  /** Kills the peer with SIGKILL and does not restart it (the runner restarts it after the case). */
  killPeer(): Promise<void>;
  /** Whether the peer process is still alive (undefined when not started by the runner). */
  peerAlive(): boolean | undefined;
  /** Open fds of the peer process, when local (else undefined). */
  peerFdCount(): number | undefined;
  /** Adds a note to the case's evidence. Sessions' message traces are added automatically. */
  note(text: string): void;
}
