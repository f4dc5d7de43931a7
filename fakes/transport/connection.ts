/**
 * A vhost-user connection: framing of 12-byte-header messages and their file descriptors over a
 * unix stream socket (vhost-user.rst "Communication"), on top of `native/`.
 *
 * fds travel as SCM_RIGHTS with the bytes of a message; {@link FrameBuffer} assigns each batch to
 * the frame it came with.
 *
 * A broken connection stays broken: after the first fatal error (peer closed, malformed frame,
 * socket error) every call fails fast with that original error, like rust-vmm's `set_failed`.
 * Time-outs are not fatal: a late reply may still be read by the next `receive`.
 * @module
 */
import {
  acceptAsync, closeFd, isNativeError, recvMsgAsync, sendMsg, shutdownFd, unixConnectAsync, unixListen,
} from '../../native/index.js';
import {
  MalformedMessageError, PeerDisconnectedError, TimeoutError, encodeRaw, requestName, type RawMessage,
} from '../wire/index.js';
import { FrameBuffer } from './frame-buffer.js';

/** Largest payload accepted from a peer before the frame is declared malformed (the biggest
 *  payload of the spec is GET_SHMEM_CONFIG's 2056 bytes; leave room for config space). */
export const DEFAULT_MAX_PAYLOAD = 64 * 1024;
/** At most this many fds are kept per message; the kernel closes any beyond (MSG_CTRUNC). */
const MAX_FDS_PER_RECV = 32;
const RECV_CHUNK = 64 * 1024;

/** Options of a {@link Connection}. */
export interface ConnectionOptions {
  /** Payloads larger than this are malformed (default {@link DEFAULT_MAX_PAYLOAD}). */
  maxPayload?: number;
  /** Names requests in errors and logs; defaults to the front-end request table. */
  requestName?: (code: number) => string;
}

/** One end of a vhost-user unix socket. */
export class Connection {
  private readonly frames = new FrameBuffer();
  private failure: Error | undefined;
  private closed = false;
  /** A receive in flight on the thread pool; the fd must not be closed under it (its number could be reused). */
  private receiving: Promise<unknown> | undefined;
  private readonly maxPayload: number;
  private readonly requestName: (code: number) => string;

  /** OWNERSHIP: takes the socket fd; {@link close} closes it. */
  constructor(readonly fd: number, options: ConnectionOptions = {}) {
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.requestName = options.requestName ?? ((code) => requestName(code));
  }

  /**
   * Connects to a listening peer, retrying while the socket is missing or refuses (a peer that
   * was just started may not listen yet) until `timeoutMs` has passed.
   */
  static async connect(path: string, timeoutMs = 10_000, options: ConnectionOptions = {}): Promise<Connection> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        // The attempt itself gets only what is left of the caller's time: a peer that listens but
        // never accepts (full backlog) must not hold the caller past its deadline.
        return new Connection(await unixConnectAsync(path, Math.max(1, deadline - Date.now())), options);
      } catch (err) {
        if (isNativeError(err) && err.errnoName === 'ETIMEDOUT') {
          throw new TimeoutError(`${path} did not accept a connection within ${timeoutMs} ms (its listen backlog is full: the peer stopped accepting)`, { timeoutMs, cause: err });
        }
        const retry = isNativeError(err) && (err.errnoName === 'ENOENT' || err.errnoName === 'ECONNREFUSED');
        if (!retry || Date.now() >= deadline) {
          throw new PeerDisconnectedError(`cannot connect to ${path}: ${(err as Error).message}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** True once the connection failed or was closed. */
  get isBroken(): boolean {
    return this.failure !== undefined || this.closed;
  }

  /** The error that broke the connection, if any. */
  get brokenBy(): Error | undefined {
    return this.failure;
  }

  /** Sends a raw message exactly as given (sizes and flags may lie on purpose). */
  send(msg: RawMessage): void {
    this.sendBytes(encodeRaw(msg), msg.fds, msg.request);
  }

  /**
   * Sends bytes as they are, with fds attached to the first byte. Fuzzers use this to cut a
   * message anywhere or to glue several together.
   */
  sendBytes(bytes: Uint8Array, fds: readonly number[] = [], request?: number): void {
    this.checkUsable(request);
    try {
      sendMsg(this.fd, bytes, fds);
    } catch (err) {
      throw this.fail(new PeerDisconnectedError(
        `sending ${request !== undefined ? this.requestName(request) : 'bytes'} failed: ${(err as Error).message}`,
        { cause: err, request: this.nameOf(request) },
      ));
    }
  }

  /**
   * Reads one whole message, waiting at most `timeoutMs`. `awaiting` names the request whose
   * answer is expected, for error messages. OWNERSHIP: the returned fds belong to the caller.
   */
  async receive(timeoutMs: number, awaiting?: number): Promise<RawMessage> {
    this.checkUsable(awaiting);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const msg = this.takeFrame(awaiting);
      if (msg) return msg;
      const left = deadline - Date.now();
      if (left <= 0) throw this.timeout(timeoutMs, awaiting);
      let got;
      try {
        const pending = recvMsgAsync(this.fd, RECV_CHUNK, MAX_FDS_PER_RECV, left);
        this.receiving = pending;
        got = await pending.finally(() => { this.receiving = undefined; });
      } catch (err) {
        if (isNativeError(err) && err.errnoName === 'ETIMEDOUT') throw this.timeout(timeoutMs, awaiting);
        throw this.fail(new PeerDisconnectedError(`receive failed: ${(err as Error).message}`, { cause: err, request: this.nameOf(awaiting) }));
      }
      if (this.closed) {
        for (const fd of got.fds) closeFd(fd);
        throw new PeerDisconnectedError('connection closed locally', { request: this.nameOf(awaiting) });
      }
      if (got.data.length === 0) {
        for (const fd of got.fds) closeFd(fd);
        const partial = this.frames.bufferedBytes > 0 ? ` after ${this.frames.bufferedBytes} bytes of a message` : '';
        throw this.fail(new PeerDisconnectedError(
          `peer closed the connection${partial}${awaiting !== undefined ? ` while awaiting the reply to ${this.requestName(awaiting)}` : ''}`,
          { request: this.nameOf(awaiting) },
        ));
      }
      this.frames.push(got.data, got.fds);
    }
  }

  /** Whether a complete message is already buffered (no socket read needed). */
  hasBufferedBytes(): boolean {
    return this.frames.bufferedBytes > 0;
  }

  /** Half-closes the write side (the peer sees EOF) while fds stay open. */
  shutdown(): void {
    if (!this.closed) {
      try { shutdownFd(this.fd); } catch { /* already gone: nothing to shut down */ }
    }
  }

  /** Closes the socket and any fds received but not handed out. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.frames.closeFds();
    if (this.receiving) {
      // Wake the pending recvmsg with EOF, and close only once it has returned.
      try { shutdownFd(this.fd); } catch { /* not connected any more */ }
      const fd = this.fd;
      void this.receiving.catch(() => undefined).finally(() => closeFd(fd));
    } else {
      closeFd(this.fd);
    }
  }

  private takeFrame(awaiting?: number): RawMessage | undefined {
    const framed = this.frames.take(this.maxPayload);
    if (framed === undefined) return undefined;
    if (framed.kind === 'oversize') {
      const { header } = framed;
      throw this.fail(new MalformedMessageError(
        `${this.requestName(header.request)} claims a ${header.size}-byte payload (limit ${this.maxPayload})${awaiting !== undefined ? ` in reply to ${this.requestName(awaiting)}` : ''}`,
      ));
    }
    return framed.message;
  }

  private timeout(timeoutMs: number, awaiting?: number): TimeoutError {
    const what = awaiting !== undefined ? `reply to ${this.requestName(awaiting)}` : 'message';
    return new TimeoutError(`no ${what} within ${timeoutMs} ms`, { request: this.nameOf(awaiting), timeoutMs });
  }

  private nameOf(code?: number): string | undefined {
    return code === undefined ? undefined : this.requestName(code);
  }

  private checkUsable(request?: number): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new PeerDisconnectedError('connection is closed', { request: this.nameOf(request) });
  }

  private fail(err: Error): Error {
    this.failure ??= err;
    return err;
  }
}

/** A listening unix socket that hands out {@link Connection}s (vhostlab as the server side). */
export class Listener {
  private closed = false;
  private constructor(readonly path: string, readonly fd: number) {}

  /** Listens on `path`. The caller owns the path: an existing file there is an error. */
  static listen(path: string): Listener {
    return new Listener(path, unixListen(path, 16));
  }

  /** Waits at most `timeoutMs` for a peer to connect. */
  async accept(timeoutMs: number, options: ConnectionOptions = {}): Promise<Connection> {
    if (this.closed) throw new PeerDisconnectedError(`listener on ${this.path} is closed`);
    try {
      return new Connection(await acceptAsync(this.fd, timeoutMs), options);
    } catch (err) {
      if (isNativeError(err) && err.errnoName === 'ETIMEDOUT') {
        throw new TimeoutError(`no peer connected to ${this.path} within ${timeoutMs} ms`, { timeoutMs });
      }
      throw err;
    }
  }

  /** Stops listening (the socket file stays; remove it with the temp folder). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeFd(this.fd);
  }
}
