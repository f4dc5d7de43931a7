/**
 * The back-end side of a vhost-user socket (vhost-user.rst "Communication"): reads whole frames
 * and their fds with bounded polls, so a serving loop can wait indefinitely for the next request
 * while still noticing shutdown, and writes replies. Unlike {@link Connection} (the front-end's
 * request/reply helper) it never throws for what the peer does: EOF, an oversize header and
 * socket errors come back as values, because for a back-end they are ordinary events.
 *
 * fds belong to the frame in which the receive that brought them ended (see takeFrame).
 * OWNERSHIP: fds of a returned frame belong to the
 * caller; fds buffered here are closed by {@link MessageStream.close}.
 * @module
 */
import { closeFd, isNativeError, recvMsgAsync, sendMsg, shutdownFd } from '../../native/index.js';
import { encodeRaw, type Header, type RawMessage } from '../wire/index.js';
import { FrameBuffer } from './frame-buffer.js';

/** Largest payload a frame may announce before the stream gives up on it (64 KiB). */
export const STREAM_MAX_PAYLOAD = 64 * 1024;
const RECV_CHUNK = 64 * 1024;
// More fds than any message may carry (8); the kernel closes the surplus (MSG_CTRUNC).
const MAX_FDS_PER_RECV = 32;

/** What one {@link MessageStream.read} produced. */
export type StreamEvent =
  | { readonly kind: 'message'; readonly message: RawMessage }
  /** Nothing complete arrived within the wait. */
  | { readonly kind: 'idle' }
  /** The peer closed; `partialBytes` of an unfinished frame were discarded. */
  | { readonly kind: 'eof'; readonly partialBytes: number }
  /** A header announced more than the limit; the stream cannot resynchronise. */
  | { readonly kind: 'oversize'; readonly header: Header }
  /** The socket failed. */
  | { readonly kind: 'error'; readonly error: Error };

/** Options of a {@link MessageStream}. */
export interface MessageStreamOptions {
  /** Largest payload accepted (default {@link STREAM_MAX_PAYLOAD}). */
  readonly maxPayload?: number;
}

/** Frame reader and reply writer over one connected unix socket. */
export class MessageStream {
  private readonly frames = new FrameBuffer();
  // Stream offset of pending[0].
  private receiving: Promise<unknown> | undefined;
  private closed = false;
  private readonly maxPayload: number;

  /** OWNERSHIP: takes the socket fd; {@link close} closes it. */
  constructor(readonly fd: number, options: MessageStreamOptions = {}) {
    this.maxPayload = options.maxPayload ?? STREAM_MAX_PAYLOAD;
  }

  /** True after {@link close}. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Returns the next whole frame, or `idle` when none completed within `waitMs`. Call it in a
   * loop; after `eof`, `oversize` or `error` the stream is finished and should be closed.
   */
  async read(waitMs: number): Promise<StreamEvent> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const framed = this.takeFrame();
      if (framed !== undefined) return framed;
      if (this.closed) return { kind: 'eof', partialBytes: this.frames.bufferedBytes };
      const left = deadline - Date.now();
      if (left <= 0) return { kind: 'idle' };
      let got;
      try {
        const p = recvMsgAsync(this.fd, RECV_CHUNK, MAX_FDS_PER_RECV, left);
        this.receiving = p;
        got = await p.finally(() => {
          this.receiving = undefined;
        });
      } catch (err) {
        if (isNativeError(err) && err.kind === 'retryable') return { kind: 'idle' };
        if (isNativeError(err) && err.kind === 'broken') return { kind: 'eof', partialBytes: this.frames.bufferedBytes };
        return { kind: 'error', error: err instanceof Error ? err : new Error(String(err)) };
      }
      if (this.closed) {
        // OWNERSHIP: closed while we waited; nobody will take these.
        for (const fd of got.fds) closeQuietly(fd);
        return { kind: 'eof', partialBytes: this.frames.bufferedBytes };
      }
      if (got.data.length === 0) {
        for (const fd of got.fds) closeQuietly(fd);
        return { kind: 'eof', partialBytes: this.frames.bufferedBytes };
      }
      this.frames.push(got.data, got.fds);
    }
  }

  /** Writes a message (header as given, body, fds). Returns false when the peer is gone. */
  send(msg: RawMessage): boolean {
    if (this.closed) return false;
    try {
      sendMsg(this.fd, encodeRaw(msg), msg.fds, 5_000);
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the socket and every fd buffered but not handed out. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.frames.closeFds();
    const fd = this.fd;
    if (this.receiving !== undefined) {
      // Never close under a pending recvmsg: wake it with EOF first, close once it returned.
      try {
        shutdownFd(fd);
      } catch {
        // Not connected any more: the pending call returns on its own.
      }
      void this.receiving.catch(() => undefined).finally(() => closeQuietly(fd));
    } else {
      closeQuietly(fd);
    }
  }

  private takeFrame(): StreamEvent | undefined {
    return this.frames.take(this.maxPayload);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeFd(fd);
  } catch {
    // Already closed: nothing to release.
  }
}
