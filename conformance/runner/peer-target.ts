/**
 * A peer the runner starts from a profile (DESIGN.md "How data flows"): its own scratch folder
 * with the socket (short path: unix socket paths are limited to 108 bytes), the log file and the
 * `{tmpdir}` share; start and wait until reachable; crash detection; restart; stop by PID.
 *
 * Server mode: the peer listens. "Reachable" means the socket file exists while the process runs;
 * the runner does not open a throw-away connection to check, because some peers (virtiofsd)
 * serve exactly one connection. Client mode: vhostlab listens before the peer starts; every
 * session accepts the peer's next (re)connection. After a restart the listening socket is made
 * anew, so a connection the killed process left in the backlog is never handed to a case.
 * @module
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrontendSession, probeBackend } from '../../fakes/frontend/index.js';
import { Listener } from '../../fakes/transport/index.js';
import { TimeoutError, VHOST_USER_F_PROTOCOL_FEATURES, hasFeature } from '../../fakes/wire/index.js';
import { countOpenFds } from '../../native/index.js';
import type { PeerInfo } from '../model.js';
import { PeerProcess } from '../peer/peer-process.js';
import { packageRoot } from '../paths.js';
import type { Profile } from '../profiles/load-profile.js';
import type { Target } from './target.js';

/** The peer could not be started or reached (CLI exit code 3). */
export class PeerStartError extends Error {
  override readonly name = 'PeerStartError';
  readonly code = 'VHL_ERR_PEER_START';
}

/** Options of a {@link PeerTarget}. */
export interface PeerTargetOptions {
  /** Where peer logs go (default: the scratch folder, removed on stop). */
  logDir?: string;
  /** Keep the scratch folder on stop (debugging). */
  keepScratch?: boolean;
}

/** A locally started peer. */
export class PeerTarget implements Target {
  readonly restartable = true;
  readonly socket: string;
  private readonly scratch: string;
  private readonly share: string;
  private readonly logDir: string;
  private process: PeerProcess | undefined;
  private listener: Listener | undefined;
  private killedByUs = false;
  private crashReported = false;
  private sessionsSinceStart = 0;

  constructor(readonly profile: Profile, private readonly options: PeerTargetOptions = {}) {
    this.scratch = mkdtempSync(join(tmpdir(), 'vhl-'));
    this.socket = join(this.scratch, 'vu.sock');
    this.share = join(this.scratch, 'share');
    mkdirSync(this.share);
    this.logDir = options.logDir ?? this.scratch;
    mkdirSync(this.logDir, { recursive: true });
  }

  get declared(): Pick<PeerInfo, 'deviceType' | 'mode'> {
    return { deviceType: this.profile.deviceType, mode: this.profile.mode };
  }

  get restartPerCase(): boolean {
    return this.profile.restartPerCase;
  }

  get pid(): number | undefined {
    return this.process?.running ? this.process.pid : undefined;
  }

  /** The command as it will run, with the run-wide placeholders filled in. */
  get command(): string {
    return this.fill(this.profile.command);
  }

  async start(): Promise<void> {
    if (this.profile.mode === 'client') this.listen();
    else removeSocket(this.socket);
    const env = Object.fromEntries(Object.entries(this.profile.env).map(([k, v]) => [k, this.fill(v)]));
    try {
      this.process = PeerProcess.start({ command: this.command, socket: this.socket, logDir: this.logDir, env, label: this.profile.name });
    } catch (err) {
      throw new PeerStartError(`cannot start ${this.profile.name}: ${(err as Error).message}`, { cause: err });
    }
    this.killedByUs = false;
    this.crashReported = false;
    this.sessionsSinceStart = 0;
    if (this.profile.mode === 'server') await this.waitForSocket();
    else await this.delayForSpawnError();
  }

  async probe(): Promise<PeerInfo> {
    const session = await this.openSession({ replyTimeoutMs: Math.max(5000, this.profile.startupTimeoutMs / 2) });
    try {
      const p = await probeBackend(session, this.profile.deviceType);
      const features = BigInt(p.features.hex);
      return {
        deviceType: this.profile.deviceType,
        mode: this.profile.mode,
        features,
        protocolFeatures: hasFeature(features, VHOST_USER_F_PROTOCOL_FEATURES) ? BigInt(p.protocolFeatures.hex) : 0n,
        queueNum: p.queues,
        maxMemSlots: p.maxMemSlots,
        ...(this.pid !== undefined ? { pid: this.pid } : {}),
        restartable: true,
      };
    } finally {
      session.close();
    }
  }

  async openSession(options: { replyTimeoutMs: number }): Promise<FrontendSession> {
    if (!this.process || (this.restartPerCase && (this.sessionsSinceStart > 0 || !this.process.running))) await this.restart();
    this.sessionsSinceStart++;
    const timeout = this.profile.startupTimeoutMs;
    if (this.profile.mode === 'server') {
      return FrontendSession.connect(this.socket, { connectTimeoutMs: timeout, replyTimeoutMs: options.replyTimeoutMs });
    }
    // Accept in slices so a peer that died meanwhile is noticed at once, not after the time-out.
    const deadline = Date.now() + timeout;
    for (;;) {
      try {
        return await FrontendSession.accept(this.listener!, { acceptTimeoutMs: Math.min(500, Math.max(1, deadline - Date.now())), replyTimeoutMs: options.replyTimeoutMs });
      } catch (err) {
        if (!(err instanceof TimeoutError)) throw err;
        if (!this.process?.running) throw new PeerStartError(`the peer ${this.process?.describeExit() ?? 'is not running'} and cannot connect`);
        if (Date.now() >= deadline) throw new TimeoutError(`the peer did not connect to ${this.socket} within ${timeout} ms`, { timeoutMs: timeout });
      }
    }
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async kill(): Promise<void> {
    if (!this.process) return;
    this.killedByUs = true;
    this.process.kill('SIGKILL');
    await this.process.waitForExit(10_000);
  }

  alive(): boolean | undefined {
    return this.process?.running ?? false;
  }

  async awaitExit(timeoutMs: number): Promise<void> {
    if (this.process?.running) await this.process.waitForExit(timeoutMs);
  }

  takeCrash(): string | undefined {
    const p = this.process;
    if (!p || p.running || this.killedByUs || this.crashReported) return undefined;
    this.crashReported = true;
    // A one-connection peer (virtiofsd) ends once its connection closes, and ends it on purpose
    // with an error exit after a protocol error — for such a peer that is how it closes the
    // connection, which the spec allows (CHECKLIST D15), and the case itself judges what the
    // close meant. Only a death of a bug is a crash for it (PeerProcess.diedOfABug: a signal
    // from SIGSEGV or a failed assertion, or a sanitizer report). The fuzzers' peer does the same.
    if (this.restartPerCase && !p.diedOfABug()) return undefined;
    return `the back-end ${p.describeExit()}`;
  }

  fdCount(): number | undefined {
    const pid = this.pid;
    if (pid === undefined) return undefined;
    try {
      return countOpenFds(pid);
    } catch {
      return undefined;
    }
  }

  logTail(maxBytes: number): string {
    return this.process?.readLog(maxBytes) ?? '';
  }

  async stop(): Promise<void> {
    if (this.process) {
      this.killedByUs = true;
      await this.process.stop(3000);
    }
    this.listener?.close();
    this.listener = undefined;
    if (!this.options.keepScratch) rmSync(this.scratch, { recursive: true, force: true });
  }

  private fill(text: string): string {
    return text
      .replaceAll('{tmpdir}', this.share)
      .replaceAll('{package}', packageRoot())
      .replaceAll('{node}', process.execPath);
  }

  private listen(): void {
    this.listener?.close();
    removeSocket(this.socket);
    this.listener = Listener.listen(this.socket);
  }

  private async waitForSocket(): Promise<void> {
    const deadline = Date.now() + this.profile.startupTimeoutMs;
    const p = this.process!;
    while (!existsSync(this.socket)) {
      if (!p.running) {
        await p.waitForExit(1000);
        throw new PeerStartError(`${this.profile.name} ${p.describeExit()} before listening on ${this.socket}\n${p.readLog(2000)}`);
      }
      if (Date.now() >= deadline) {
        throw new PeerStartError(`${this.profile.name} did not listen on ${this.socket} within ${this.profile.startupTimeoutMs} ms\n${p.readLog(2000)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async delayForSpawnError(): Promise<void> {
    // A missing binary is reported through the child's 'error' event on the next ticks.
    const p = this.process!;
    if (await p.waitForExit(50)) throw new PeerStartError(`${this.profile.name} ${p.describeExit()} at start\n${p.readLog(2000)}`);
  }
}

function removeSocket(path: string): void {
  if (existsSync(path)) unlinkSync(path);
}
