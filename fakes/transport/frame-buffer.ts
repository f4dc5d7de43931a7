/**
 * Reassembles vhost-user frames (12-byte header + payload) from stream reads, and assigns each
 * batch of received fds to the frame it belongs to. Shared by {@link Connection} (the front-end
 * side, which throws) and {@link MessageStream} (the back-end side, which reports events).
 * @module
 */
import { closeFd } from '../../native/index.js';
import { HEADER_SIZE, decodeHeader, type Header, type RawMessage } from '../wire/index.js';

/** What {@link FrameBuffer.take} found. */
export type Framed =
  | { readonly kind: 'message'; readonly message: RawMessage }
  /** A header announced more than the limit: the stream cannot be resynchronised. */
  | { readonly kind: 'oversize'; readonly header: Header };

/** Bytes and fds received but not yet handed out as frames. */
export class FrameBuffer {
  private pending: Uint8Array = new Uint8Array(0);
  /** Stream offset of `pending[0]`. */
  private consumed = 0;
  // fds by the receive that brought them: `end` is the stream offset just past its bytes.
  private fdBatches: { end: number; fds: number[] }[] = [];

  /** Bytes of an unfinished frame. */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  /** Adds one receive's bytes and fds. OWNERSHIP: takes the fds. */
  push(data: Uint8Array, fds: readonly number[]): void {
    this.pending = this.pending.length === 0 ? data : concat(this.pending, data);
    if (fds.length > 0) this.fdBatches.push({ end: this.consumed + this.pending.length, fds: [...fds] });
  }

  /** The next complete frame, an oversize header, or undefined when more bytes are needed. */
  take(maxPayload: number): Framed | undefined {
    if (this.pending.length < HEADER_SIZE) return undefined;
    const header = decodeHeader(this.pending);
    if (header.size > maxPayload) return { kind: 'oversize', header };
    const total = HEADER_SIZE + header.size;
    if (this.pending.length < total) return undefined;
    const body = this.pending.slice(HEADER_SIZE, total);
    this.pending = this.pending.subarray(total);
    this.consumed += total;
    // Which frame owns which fds: Linux ends a stream recvmsg after the segment that carried fds,
    // and the sender attaches them to the sendmsg holding the header's first byte, so a batch
    // belongs to the frame in which its receive ended. Several messages sent back to back
    // without waiting (virtio-user does) arrive in one read, fds on the last of them.
    const fds: number[] = [];
    while (this.fdBatches.length > 0 && this.fdBatches[0].end <= this.consumed) fds.push(...this.fdBatches.shift()!.fds);
    return { kind: 'message', message: { request: header.request, flags: header.flags, size: header.size, body, fds } };
  }

  /** Closes every fd still buffered. */
  closeFds(): void {
    for (const b of this.fdBatches) {
      for (const fd of b.fds) {
        try { closeFd(fd); } catch { /* already closed: nothing to release */ }
      }
    }
    this.fdBatches = [];
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
