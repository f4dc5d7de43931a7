/**
 * The {@link CaseContext} the runner gives one case: sessions it opens are remembered and closed
 * when the case ends, their message traces become evidence, and restarting or killing the peer
 * is recorded so the runner does not mistake it for a crash.
 * @module
 */
import type { FrontendSession } from '../../fakes/frontend/index.js';
import type { Evidence } from '../../reports/index.js';
import type { CaseContext, PeerInfo } from '../model.js';
import type { Target } from './target.js';

/** Timing knobs of a run. */
export interface ContextTiming {
  quietMs: number;
  waitMs: number;
}

/** The runner's CaseContext for one case. */
export class RunnerCaseContext implements CaseContext {
  private readonly sessions: { session: FrontendSession; openedAt: number }[] = [];
  private readonly notes: { at: number; note: string }[] = [];
  private readonly startedAt = Date.now();
  /** The case killed the peer on purpose; the runner restarts it after the case. */
  peerKilled = false;

  constructor(
    readonly peer: PeerInfo,
    private readonly target: Target,
    private readonly timing: ContextTiming,
    readonly signal: AbortSignal,
  ) {}

  get quietMs(): number {
    return this.timing.quietMs;
  }

  get waitMs(): number {
    return this.timing.waitMs;
  }

  async openSession(options: { replyTimeoutMs?: number } = {}): Promise<FrontendSession> {
    this.signal.throwIfAborted();
    // In client mode the back-end keeps one connection and reconnects only once it is closed:
    // waiting for a second connection while the first is open would hang, so close it first.
    if (this.peer.mode === 'client') this.closeSessions();
    const session = await this.target.openSession({ replyTimeoutMs: options.replyTimeoutMs ?? this.timing.waitMs });
    this.sessions.push({ session, openedAt: Date.now() - this.startedAt });
    if (this.signal.aborted) session.close();
    return session;
  }

  async restartPeer(): Promise<void> {
    if (!this.target.restartable) throw new Error('the peer cannot be restarted by this run');
    this.note('restarting the back-end');
    await this.target.restart();
    this.peerKilled = false;
    this.refreshPid();
  }

  async killPeer(): Promise<void> {
    if (!this.target.restartable) throw new Error('the peer cannot be killed by this run');
    this.note('killing the back-end (SIGKILL)');
    await this.target.kill();
    this.peerKilled = true;
  }

  peerAlive(): boolean | undefined {
    return this.target.alive();
  }

  peerFdCount(): number | undefined {
    return this.target.fdCount();
  }

  note(text: string): void {
    this.notes.push({ at: Date.now() - this.startedAt, note: text });
  }

  /** Whether the peer broke one of the case's connections (reset or closed it) rather than us. */
  get peerBrokeConnection(): boolean {
    return this.sessions.some(({ session }) => session.connection.brokenBy !== undefined);
  }

  /** Closes every session the case opened. Idempotent. */
  closeSessions(): void {
    for (const { session } of this.sessions) session.close();
  }

  /** Notes and every session's trace, merged in time order. */
  evidence(): Evidence[] {
    const many = this.sessions.length > 1;
    const items: Evidence[] = [...this.notes];
    this.sessions.forEach(({ session, openedAt }, i) => {
      for (const m of session.messages) {
        items.push({ dir: m.dir, message: many ? `[session ${i + 1}] ${m.message}` : m.message, at: openedAt + m.at });
      }
    });
    return items.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  }

  private refreshPid(): void {
    const pid = this.target.pid;
    // PeerInfo is shared data; a restarted peer has a new pid that fd-counting cases need.
    if (pid !== undefined) (this.peer as { pid?: number }).pid = pid;
  }
}
