/**
 * Starting and stopping a peer (a back-end or front-end under test) from a command template.
 *
 * `{socket}` in the command becomes the socket path and `{id}` a token unique to each started
 * instance (DPDK needs a distinct `--file-prefix` per process). Output goes to a log file, never
 * to an unread pipe that could fill and stall the peer. A peer is stopped only by the PID we
 * started: SIGTERM, then SIGKILL after a grace period.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describeSanitizerReport, findSanitizerReport, type SanitizerReport } from './sanitizer-report.js';
import { parse as shellParse } from './shell-words.js';

/** How much of an ended process's log is searched for a sanitizer report (they run to a few KiB). */
const SANITIZER_LOG_BYTES = 32 * 1024;

/** How to start one peer. */
export interface PeerSpec {
  /** Command line with `{socket}` and `{id}` placeholders, split like a POSIX shell would. */
  command: string;
  /** The socket path substituted for `{socket}`. */
  socket: string;
  /** Folder for the log file. */
  logDir: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Label for the log file name and messages (default: the program name). */
  label?: string;
}

/** A peer process that is running or has run. */
export class PeerProcess {
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    readonly spec: PeerSpec,
    readonly argv: string[],
    readonly id: string,
    readonly logPath: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        // However it ended (stopped, killed for a restart, crashed), its DPDK runtime folder goes.
        this.removeRuntimeDir();
        resolve();
      });
      child.once('error', () => {
        this.exitInfo ??= { code: 127, signal: null };
        resolve();
      });
    });
  }

  /** Starts the peer. Throws if the program cannot be found. */
  static start(spec: PeerSpec): PeerProcess {
    const id = `vl${process.pid}x${randomBytes(4).toString('hex')}`;
    const argv = expandCommand(spec.command, spec.socket, id);
    if (argv.length === 0) throw new Error('the peer command is empty');
    const label = spec.label ?? argv[0].split('/').pop() ?? 'peer';
    const logPath = join(spec.logDir, `${label}-${id}.log`);
    const log = openSync(logPath, 'a');
    try {
      const child = spawn(argv[0], argv.slice(1), {
        stdio: ['ignore', log, log],
        env: { ...process.env, ...spec.env },
        detached: false,
      });
      return new PeerProcess(spec, argv, id, logPath, child);
    } finally {
      closeSync(log);
    }
  }

  /** The OS process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.exitInfo === undefined && this.child.pid !== undefined;
  }

  /** How it ended, once it has. */
  get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }

  /** The log so far (last `maxBytes` bytes). */
  readLog(maxBytes = 64 * 1024): string {
    if (!existsSync(this.logPath)) return '';
    const all = readFileSync(this.logPath);
    return all.subarray(Math.max(0, all.length - maxBytes)).toString('utf8');
  }

  /** Resolves when the process has exited, or after `timeoutMs` (returns whether it exited). */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    if (this.exitInfo) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
    const done = await Promise.race([this.exited.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return done;
  }

  /** Sends `signal` to the process we started (never to anything else). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child.kill(signal);
  }

  /** Stops the peer: SIGTERM, then SIGKILL after `graceMs`. Resolves once it has exited. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.running) {
      this.kill('SIGTERM');
      if (!(await this.waitForExit(graceMs))) {
        this.kill('SIGKILL');
        await this.waitForExit(5000);
      }
    }
    this.removeRuntimeDir();
  }

  /**
   * DPDK keeps a runtime folder per `--file-prefix` under /var/run/dpdk; `{id}` is unique to this
   * instance, so the folder of that name is ours to remove once the process is gone.
   */
  private removeRuntimeDir(): void {
    if (this.running || !this.argv.some((a) => a.includes(this.id))) return;
    try { rmSync(`/var/run/dpdk/${this.id}`, { recursive: true, force: true }); } catch { /* not ours to worry about */ }
  }

  /** The sanitizer report at the end of the log of the ended process, if it printed one. */
  sanitizerReport(): SanitizerReport | undefined {
    return this.exitInfo ? findSanitizerReport(this.readLog(SANITIZER_LOG_BYTES)) : undefined;
  }

  /**
   * Whether the ended process died of a bug rather than by ending on purpose, for peers whose
   * exit is otherwise normal (a one-session peer ends with a status once its connection closes,
   * also after a protocol error: libvhost-user's panic path, CHECKLIST D15). A bug is a death by
   * signal — but not SIGPIPE, a write to a connection the other side already closed
   * (vhost-user-gpu after a cut message) — or a sanitizer's error report, whose runtime exits
   * with 1 (a leak report at exit is not one).
   */
  diedOfABug(): boolean {
    if (!this.exitInfo) return false;
    if (this.exitInfo.signal) return this.exitInfo.signal !== 'SIGPIPE';
    // LeakSanitizer reports at an exit the program chose: a leak, not a death.
    const report = this.sanitizerReport();
    return report !== undefined && report.tool !== 'LeakSanitizer';
  }

  /** A one-line description of how the process ended, with the sanitizer's verdict, for error messages. */
  describeExit(): string {
    if (!this.exitInfo) return 'still running';
    const how = this.exitInfo.signal ? `killed by ${this.exitInfo.signal}` : `exited with code ${this.exitInfo.code}`;
    const report = this.sanitizerReport();
    return report === undefined ? how : `${how}: ${describeSanitizerReport(report)}`;
  }
}

/** Splits a command template and substitutes `{socket}` and `{id}` in every word. */
export function expandCommand(command: string, socket: string, id: string): string[] {
  return shellParse(command).map((w) => w.replaceAll('{socket}', socket).replaceAll('{id}', id));
}
