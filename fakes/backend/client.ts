/**
 * Connect mode (`--client`): the front-end owns the socket (DPDK virtio-user `server=1`, QEMU
 * `server=on`) and the back-end connects to it, and keeps reconnecting with a back-off while the
 * front-end is away — also after a session ends — like DPDK's vhost `client=1` (VU-SESS-006).
 * @module
 */
import { closeFd, isNativeError, unixConnectAsync } from '../../native/index.js';
import { MessageStream } from '../transport/message-stream.js';
import { serveSession, type BackendOptions } from './session.js';

/** Back-off bounds between connection attempts (ms). */
export const RECONNECT_MIN_MS = 50;
export const RECONNECT_MAX_MS = 1000;

/** A back-end that connects to a listening front-end. */
export class BackendClient {
  private stopping = false;
  private readonly done: Promise<void>;
  private wakeSleep: (() => void) | undefined;
  /** Sessions served so far. */
  sessions = 0;

  private constructor(
    /** The front-end's socket path. */
    readonly path: string,
    private readonly options: BackendOptions,
  ) {
    this.done = this.loop();
  }

  /** Starts connecting to `path` (and reconnecting after every session) until {@link close}. */
  static connect(path: string, options: BackendOptions): BackendClient {
    return new BackendClient(path, options);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeSleep = undefined;
        resolve();
      }, ms);
      this.wakeSleep = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    let backoff = RECONNECT_MIN_MS;
    let waitingLogged = false;
    while (!this.stopping) {
      let fd: number;
      try {
        // On a pool thread: a front-end that listens but does not accept (full backlog) must not
        // freeze this process's event loop, which may serve other sessions and signals.
        fd = await unixConnectAsync(this.path, 1000);
      } catch (e) {
        if (!waitingLogged) {
          this.options.observer?.event?.({ event: 'waiting', detail: `${this.path}: ${isNativeError(e) ? e.errnoName : (e as Error).message}; retrying` });
          waitingLogged = true;
        }
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, RECONNECT_MAX_MS);
        continue;
      }
      if (this.stopping) {
        closeFd(fd);
        break;
      }
      backoff = RECONNECT_MIN_MS;
      waitingLogged = false;
      this.sessions++;
      this.options.observer?.event?.({ event: 'connected', detail: this.path, session: this.sessions });
      const end = await serveSession(new MessageStream(fd), this.options, () => this.stopping);
      this.options.observer?.event?.({ event: 'disconnected', detail: end.reason, session: this.sessions, messages: end.messages, violations: end.violations });
      if (this.options.hooks?.reconnect?.(this.sessions) === false) {
        this.options.observer?.event?.({ event: 'not-reconnecting', detail: 'a hook declined to connect again' });
        break;
      }
      if (!this.stopping) await this.sleep(RECONNECT_MIN_MS);
    }
  }

  /** Stops reconnecting and ends the current session. */
  async close(): Promise<void> {
    this.stopping = true;
    this.wakeSleep?.();
    await this.done;
  }
}
