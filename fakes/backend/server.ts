/**
 * Listen mode: the back-end owns the socket and serves one front-end at a time, like DPDK's
 * vhost back-end; when a connection ends its state is dropped (VU-SESS-003) and the next
 * connection is served.
 * @module
 */
import { existsSync, unlinkSync } from 'node:fs';
import { acceptAsync, closeFd, isNativeError, unixListen } from '../../native/index.js';
import { MessageStream } from '../transport/message-stream.js';
import { serveSession, type BackendOptions, type SessionEnd } from './session.js';

/** A back-end listening on a unix socket. */
export class BackendServer {
  private stopping = false;
  private readonly done: Promise<void>;
  private accepting: Promise<unknown> | undefined;
  /** Sessions served so far. */
  sessions = 0;

  private constructor(
    /** The socket path. */
    readonly path: string,
    private readonly fd: number,
    private readonly options: BackendOptions,
    private readonly removeSocket: boolean,
  ) {
    this.done = this.loop();
  }

  /**
   * Listens on `path` and starts serving. A stale socket file (nobody listening) is replaced;
   * the file this server creates is removed by {@link close}.
   */
  static listen(path: string, options: BackendOptions): BackendServer {
    if (existsSync(path)) unlinkSync(path);
    const fd = unixListen(path, 16);
    options.observer?.event?.({ event: 'listening', detail: path });
    return new BackendServer(path, fd, options, true);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let conn: number;
      try {
        const p = acceptAsync(this.fd, 200);
        this.accepting = p;
        conn = await p;
      } catch (e) {
        if (isNativeError(e) && e.kind === 'retryable') continue;
        if (this.stopping) break;
        this.options.observer?.event?.({ event: 'accept-failed', detail: (e as Error).message });
        await new Promise((r) => setTimeout(r, 100));
        continue;
      } finally {
        this.accepting = undefined;
      }
      if (this.stopping) {
        closeFd(conn);
        break;
      }
      this.sessions++;
      this.options.observer?.event?.({ event: 'connected', detail: this.path, session: this.sessions });
      const end: SessionEnd = await serveSession(new MessageStream(conn), this.options, () => this.stopping);
      this.options.observer?.event?.({ event: 'disconnected', detail: end.reason, session: this.sessions, messages: end.messages, violations: end.violations });
    }
  }

  /** Stops serving (ends the current session), closes the socket and removes its file. */
  async close(): Promise<void> {
    this.stopping = true;
    await this.accepting?.catch(() => undefined);
    await this.done;
    closeFd(this.fd);
    if (this.removeSocket && existsSync(this.path)) unlinkSync(this.path);
  }
}
