/**
 * What the runner drives (STYLE §22 "Target"): a peer it can reach with front-end sessions and,
 * when it started the peer, restart, kill and inspect. The real implementation is
 * {@link PeerTarget}; the runner's self-tests use a fake.
 * @module
 */
import type { FrontendSession } from '../../fakes/frontend/index.js';
import type { PeerInfo } from '../model.js';

/** A peer under test. */
export interface Target {
  /** Starts the peer (if the runner owns it) and waits until it can be reached. */
  start(): Promise<void>;
  /** Runs the handshake of `vhostlab probe` on a fresh session and fills {@link PeerInfo}. */
  probe(): Promise<PeerInfo>;
  /**
   * A fresh front-end session (connects, or accepts the peer's next connection in client
   * mode). Where the profile needs a fresh peer per connection, the target starts one first.
   */
  openSession(options: { replyTimeoutMs: number }): Promise<FrontendSession>;
  /** Kills the peer (SIGKILL) and starts it again; resolves when it can be reached. */
  restart(): Promise<void>;
  /** Kills the peer with SIGKILL and does not restart it. */
  kill(): Promise<void>;
  /** Whether the peer process is alive (undefined when the runner does not own it). */
  alive(): boolean | undefined;
  /**
   * If the peer exited on its own since it was last started (not killed by the runner or a
   * case) in a way that counts as a crash, how it ended; the crash is reported once.
   */
  takeCrash(): string | undefined;
  /**
   * Waits up to `timeoutMs` for a peer that is going down to finish exiting (after it reset a
   * connection), so that its crash is seen by the case that caused it, not by the next one.
   */
  awaitExit?(timeoutMs: number): Promise<void>;
  /** Open fds of the peer process, when local. */
  fdCount(): number | undefined;
  /** The peer's pid, when local. */
  readonly pid: number | undefined;
  /** Whether the runner can restart the peer. */
  readonly restartable: boolean;
  /** Device type and socket mode the profile declares (what a failed probe cannot tell). */
  readonly declared?: Pick<PeerInfo, 'deviceType' | 'mode'>;
  /** Whether every case needs a fresh peer (the peer serves one connection). */
  readonly restartPerCase: boolean;
  /** The last lines of the peer's log, for failure evidence. */
  logTail(maxBytes: number): string;
  /** Stops the peer and releases everything (listening socket, scratch folder). */
  stop(): Promise<void>;
}
