/**
 * The peer a live fuzzer drives (a back-end under test): reachable over its socket, restartable,
 * killable, observable (alive, how it died, open fds). {@link ProcessPeer} starts a real process
 * from a profile; unit tests use in-process fakes with planted faults. Errors a fuzzer cannot work
 * around (the peer does not start or cannot be reached at all) are {@link PeerUnavailableError}s,
 * which the CLI maps to exit code 3.
 * @module
 */
import { VhostUserError } from '../../fakes/wire/errors.js';
import type { DeviceType } from '../../fakes/wire/features.js';
import type { Connection } from '../../fakes/transport/index.js';

/** A back-end under fuzzing. */
export interface FuzzPeer {
  /** Profile name or command, for reproducers and messages. */
  readonly name: string;
  /** `server`: the peer listens and we connect; `client`: we listen and the peer connects. */
  readonly mode: 'server' | 'client';
  readonly deviceType: DeviceType;
  /** The peer loops TX frames back into RX (traffic oracles apply). */
  readonly loopingNet: boolean;
  /** Starts the peer and waits until it can be reached. Throws {@link PeerUnavailableError}. */
  start(): Promise<void>;
  /**
   * A fresh connection: connect (server mode) or accept the peer's next connection (client
   * mode). Throws TimeoutError when the peer does not answer in time, PeerDisconnectedError when
   * it is gone.
   */
  connect(timeoutMs: number): Promise<Connection>;
  /** Kills (SIGKILL) and starts again. */
  restart(): Promise<void>;
  /** Kills the peer (SIGKILL) without restarting it. */
  kill(): Promise<void>;
  /**
   * Client mode: the front-end "goes away and comes back" — stop listening, wait `pauseMs`,
   * listen again (the peer must reconnect). Server mode: nothing to do.
   */
  relisten(pauseMs: number): Promise<void>;
  /** Whether the peer process runs (undefined when unknown). */
  alive(): boolean | undefined;
  /** How the peer died on its own since the last (re)start, once; undefined if it did not. */
  takeCrash(): string | undefined;
  /** Open fds of the peer process, when local. */
  fdCount(): number | undefined;
  /** The end of the peer's log, for findings. */
  logTail(maxBytes: number): string;
  /** Stops the peer and releases everything. */
  stop(): Promise<void>;
}

/** Stable codes of the live fuzzers' errors. */
export const FuzzErrorCode = {
  /** The peer cannot be started or reached at all (exit code 3). */
  PEER_UNAVAILABLE: 'VHU_ERR_FUZZ_PEER_UNAVAILABLE',
  /** A finding: the peer crashed, hung, leaked fds, lost state… (exit code 1). */
  FINDING: 'VHU_ERR_FUZZ_FINDING',
} as const;

/** The peer cannot be started or reached (not a finding: nothing was fuzzed yet). */
export class PeerUnavailableError extends VhostUserError {
  override readonly name = 'PeerUnavailableError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(FuzzErrorCode.PEER_UNAVAILABLE, message, options);
  }
}

/** True when `e` is a {@link PeerUnavailableError}. */
export const isPeerUnavailableError = (e: unknown): e is PeerUnavailableError => e instanceof PeerUnavailableError;

/**
 * Restarts `peer`, trying up to `attempts` times: a peer that just crashed may still be releasing
 * its socket or scratch files. Rethrows the last {@link PeerUnavailableError}.
 */
export async function restartPeer(peer: FuzzPeer, attempts = 3): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await peer.restart();
      return;
    } catch (err) {
      if (!isPeerUnavailableError(err) || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}
