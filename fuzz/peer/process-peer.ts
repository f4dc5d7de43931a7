/**
 * A back-end process started from a command template (`{socket}`, `{id}`, and the run-wide
 * `{tmpdir}`, `{package}`, `{node}` of the profile format), through conformance's
 * {@link PeerProcess}: own scratch folder with a short socket path, log file, stop by PID only.
 * Client mode: vhostlab listens before the peer starts, and {@link ProcessPeer.relisten} closes
 * and re-opens the listening socket so the peer's reconnect logic is exercised.
 * @module
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, Listener } from '../../fakes/transport/index.js';
import { PeerDisconnectedError, TimeoutError } from '../../fakes/wire/errors.js';
import type { DeviceType } from '../../fakes/wire/features.js';
import { countOpenFds } from '../../native/index.js';
import { PeerProcess } from '../../conformance/peer/peer-process.js';
import { packageRoot } from '../../conformance/paths.js';
import { PeerUnavailableError, type FuzzPeer } from './fuzz-peer.js';


/** How to start the peer (the fields of a conformance profile the fuzzers need). */
export interface ProcessPeerSpec {
  readonly name: string;
  readonly command: string;
  readonly mode: 'server' | 'client';
  readonly deviceType: DeviceType;
  readonly loopingNet: boolean;
  readonly env?: Readonly<Record<string, string>>;
  /** How long the peer may take to become reachable (default 15 000 ms). */
  readonly startupTimeoutMs?: number;
  /**
   * The peer serves one connection and ends (virtiofsd, vhost-user-gpu: the profile's
   * `restartPerCase`): it is started afresh for every connection, and an exit with a status (not
   * a signal) is how it closes a session, not a crash.
   */
  readonly restartPerSession?: boolean;
}

/** A locally started back-end. */
export class ProcessPeer implements FuzzPeer {
  readonly name: string;
  readonly mode: 'server' | 'client';
  readonly deviceType: DeviceType;
  readonly loopingNet: boolean;
  /** The socket path. */
  readonly socket: string;
  private readonly scratch: string;
  private process: PeerProcess | undefined;
  private listener: Listener | undefined;
  private killedByUs = false;
  private crashTaken = false;
  private sessionsSinceStart = 0;

  constructor(readonly spec: ProcessPeerSpec, private readonly options: { logDir?: string } = {}) {
    this.name = spec.name;
    this.mode = spec.mode;
    this.deviceType = spec.deviceType;
    this.loopingNet = spec.loopingNet;
    this.scratch = mkdtempSync(join(tmpdir(), 'vhl-fz-'));
    mkdirSync(join(this.scratch, 'share'));
    this.socket = join(this.scratch, 'vu.sock');
  }

  private get startupMs(): number {
    return this.spec.startupTimeoutMs ?? 15_000;
  }

  private fill(text: string): string {
    return text.replaceAll('{tmpdir}', join(this.scratch, 'share')).replaceAll('{package}', packageRoot()).replaceAll('{node}', process.execPath);
  }

  async start(): Promise<void> {
    if (this.mode === 'client') this.listen();
    else if (existsSync(this.socket)) unlinkSync(this.socket);
    const env = Object.fromEntries(Object.entries(this.spec.env ?? {}).map(([k, v]) => [k, this.fill(v)]));
    const logDir = this.options.logDir ?? this.scratch;
    mkdirSync(logDir, { recursive: true });
    try {
      this.process = PeerProcess.start({ command: this.fill(this.spec.command), socket: this.socket, logDir, env, label: this.name.replace(/[^\w.-]/g, '_').slice(0, 40) });
    } catch (err) {
      throw new PeerUnavailableError(`cannot start ${this.name}: ${(err as Error).message}`, { cause: err });
    }
    this.killedByUs = false;
    this.crashTaken = false;
    this.sessionsSinceStart = 0;
    const p = this.process;
    if (this.mode === 'client') {
      if (await p.waitForExit(50)) throw new PeerUnavailableError(`${this.name} ${p.describeExit()} at start\n${p.readLog(2000)}`);
      return;
    }
    const deadline = Date.now() + this.startupMs;
    while (!existsSync(this.socket)) {
      if (!p.running) {
        await p.waitForExit(1000);
        throw new PeerUnavailableError(`${this.name} ${p.describeExit()} before listening on ${this.socket}\n${p.readLog(2000)}`);
      }
      if (Date.now() >= deadline) throw new PeerUnavailableError(`${this.name} did not listen on ${this.socket} within ${this.startupMs} ms\n${p.readLog(2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async connect(timeoutMs: number): Promise<Connection> {
    if (this.spec.restartPerSession && this.process && (this.sessionsSinceStart > 0 || !this.process.running)) await this.freshForNextSession();
    this.sessionsSinceStart++;
    if (this.mode === 'server') return Connection.connect(this.socket, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.listener) throw new PeerDisconnectedError('not listening');
      try {
        return await this.listener.accept(Math.min(200, Math.max(1, deadline - Date.now())));
      } catch (err) {
        if (!(err instanceof TimeoutError)) throw err;
        if (!this.process?.running) throw new PeerDisconnectedError(`the peer ${this.process?.describeExit() ?? 'is not running'} and cannot connect`);
        if (Date.now() >= deadline) throw new TimeoutError(`the peer did not connect to ${this.socket} within ${timeoutMs} ms`, { timeoutMs });
      }
    }
  }

  /**
   * A one-session peer is started again before the next connection. One that died of a bug is
   * left dead, so the oracles see the crash; one still running gets a moment to finish its exit.
   */
  private async freshForNextSession(): Promise<void> {
    const p = this.process!;
    if (p.running) await p.waitForExit(200);
    if (!p.running && !this.killedByUs && !this.crashTaken && p.diedOfABug()) {
      throw new PeerDisconnectedError(`the peer ${p.describeExit()} after its session`);
    }
    await this.restart();
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

  async relisten(pauseMs: number): Promise<void> {
    if (this.mode !== 'client') return;
    this.listener?.close();
    this.listener = undefined;
    if (existsSync(this.socket)) unlinkSync(this.socket);
    await new Promise((r) => setTimeout(r, pauseMs));
    this.listen();
  }

  alive(): boolean | undefined {
    return this.process?.running ?? false;
  }

  takeCrash(): string | undefined {
    const p = this.process;
    if (!p || p.running || this.killedByUs || this.crashTaken) return undefined;
    this.crashTaken = true;
    // A one-session peer's exit with a status is the end of its session (PeerProcess.diedOfABug).
    if (this.spec.restartPerSession && !p.diedOfABug()) return undefined;
    return `the back-end ${p.describeExit()}`;
  }

  fdCount(): number | undefined {
    const pid = this.process?.running ? this.process.pid : undefined;
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
    rmSync(this.scratch, { recursive: true, force: true });
  }

  private listen(): void {
    this.listener?.close();
    if (existsSync(this.socket)) unlinkSync(this.socket);
    this.listener = Listener.listen(this.socket);
  }
}
