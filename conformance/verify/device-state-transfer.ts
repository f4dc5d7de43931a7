/**
 * The front-end's half of back-end state migration (vhost-user.rst "Migrating back-end state"):
 * SET_DEVICE_STATE_FD with a pipe, the reply's fd rule (bit 8 clear ⇔ the back-end sends its own
 * fd, VU-MIG-014), reading or writing the stream, CHECK_DEVICE_STATE. Every wait is bounded.
 * @module
 */
import { readSync, writeSync } from 'node:fs';
import { closeFd, pipe, pollAsync, PollEvent, setNonBlocking } from '../../native/index.js';
import type { FrontendSession } from '../../fakes/frontend/index.js';
import { FrontendRequest, buildRawMessage, payloads } from '../../fakes/wire/index.js';
import { sendMessage } from '../cases/support/session-setup.js';
import { describeObservation, observeNext } from './observe.js';

/** Longest stream a case reads (the spec bounds nothing; a back-end's state is far smaller here). */
const MAX_STREAM = 16 << 20;

/** The outcome of SET_DEVICE_STATE_FD. */
export type TransferStart =
  | { readonly ok: true; readonly fd: number; readonly backendFd: boolean }
  | { readonly ok: false; readonly expected: string[]; readonly actual: string };

/** What SET_DEVICE_STATE_FD was answered with: a well-formed u64 reply and its fds, or what came instead. */
export type TransferAnswer =
  | { readonly reply: true; readonly error: number; readonly noFd: boolean; readonly raw: bigint; readonly fds: readonly number[] }
  | { readonly reply: false; readonly actual: string; readonly fds: readonly number[] };

/**
 * Sends SET_DEVICE_STATE_FD (`direction`, phase 0) carrying `fd` and waits for its reply. The
 * caller owns the returned fds, and `fd` stays open (close it once the back-end has its copy).
 */
export async function askTransfer(session: FrontendSession, direction: number, fd: number, waitMs: number): Promise<TransferAnswer> {
  const body = payloads.deviceState.encode({ direction, phase: 0 });
  sendMessage(session, buildRawMessage(FrontendRequest.SET_DEVICE_STATE_FD, body, { needReply: false, fds: [fd] }));
  const o = await observeNext(session, waitMs, { awaiting: FrontendRequest.SET_DEVICE_STATE_FD, keepFds: true });
  if (o.kind !== 'reply' || o.request !== FrontendRequest.SET_DEVICE_STATE_FD || o.size !== 8) return { reply: false, actual: describeObservation(o), fds: o.kind === 'reply' ? o.fds : [] };
  const raw = payloads.u64.decode(o.body);
  const r = payloads.decodeDeviceStateReply(raw);
  return { reply: true, error: r.error, noFd: r.noFd, raw, fds: o.fds };
}

/**
 * Sends SET_DEVICE_STATE_FD (`direction` 0 save, 1 load; phase 0) with one end of a new pipe and
 * returns the fd the stream goes through: the back-end's own when it sent one, else our other end.
 */
export async function startTransfer(session: FrontendSession, direction: 0 | 1, waitMs: number): Promise<TransferStart> {
  const [r, w] = pipe();
  // Save: the back-end writes, we read. Load: we write, the back-end reads.
  const theirs = direction === 0 ? w : r;
  const ours = direction === 0 ? r : w;
  let a: TransferAnswer;
  try {
    a = await askTransfer(session, direction, theirs, waitMs);
  } catch (err) {
    closeFd(ours);
    throw err;
  } finally {
    closeFd(theirs);
  }
  const expected = ['a u64 reply to SET_DEVICE_STATE_FD with error code 0 and, with bit 8 clear, exactly one fd (VU-MIG-014)'];
  const refuse = (actual: string): TransferStart => {
    closeFd(ours);
    for (const fd of a.fds) closeFd(fd);
    return { ok: false, expected, actual };
  };
  if (!a.reply) return refuse(a.actual);
  if (a.error !== 0) return refuse(`error code ${a.error} (reply 0x${a.raw.toString(16)})`);
  if (a.noFd && a.fds.length > 0) return refuse(`bit 8 set (no fd) but ${a.fds.length} fd(s) attached`);
  if (!a.noFd && a.fds.length !== 1) return refuse(`bit 8 clear (an fd returned) but ${a.fds.length} fd(s) attached`);
  if (!a.noFd) {
    closeFd(ours);
    return { ok: true, fd: a.fds[0]!, backendFd: true };
  }
  return { ok: true, fd: ours, backendFd: false };
}

/** Reads `fd` to EOF within `timeoutMs` in all and closes it; the bytes, or why not. */
export async function readStream(fd: number, timeoutMs: number): Promise<Uint8Array | string> {
  const deadline = Date.now() + timeoutMs;
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    setNonBlocking(fd, true);
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return `the back-end did not finish the stream within ${timeoutMs} ms (${total} bytes, no EOF)`;
      await pollAsync([{ fd, events: PollEvent.IN }], Math.min(left, 200));
      const buf = Buffer.alloc(64 * 1024);
      let n: number;
      try {
        n = readSync(fd, buf);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        throw e;
      }
      if (n === 0) return Buffer.concat(chunks);
      total += n;
      if (total > MAX_STREAM) return `stream longer than ${MAX_STREAM} bytes`;
      chunks.push(buf.subarray(0, n));
    }
  } finally {
    closeFd(fd);
  }
}

/**
 * Writes `bytes` into `fd` within `timeoutMs` and closes it (our end of a load: EOF tells the
 * back-end the stream is whole). Undefined when all was written, else why not: a back-end that
 * reads only at CHECK_DEVICE_STATE cannot take more than a pipe's capacity before it.
 */
export async function writeStream(fd: number, bytes: Uint8Array, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let o = 0;
  try {
    setNonBlocking(fd, true);
    while (o < bytes.length) {
      try {
        o += writeSync(fd, bytes, o);
        continue;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return `writing the stream failed: ${(e as Error).message}`;
      }
      const left = deadline - Date.now();
      if (left <= 0) return `the back-end took ${o} of ${bytes.length} stream bytes within ${timeoutMs} ms`;
      await pollAsync([{ fd, events: PollEvent.OUT }], Math.min(left, 200));
    }
    return undefined;
  } finally {
    closeFd(fd);
  }
}

/** CHECK_DEVICE_STATE's u64, or a description of what came instead. */
export async function checkDeviceState(session: FrontendSession, waitMs: number): Promise<bigint | string> {
  sendMessage(session, buildRawMessage(FrontendRequest.CHECK_DEVICE_STATE, new Uint8Array(0), { needReply: false }));
  const o = await observeNext(session, waitMs, { awaiting: FrontendRequest.CHECK_DEVICE_STATE });
  if (o.kind === 'reply' && o.request === FrontendRequest.CHECK_DEVICE_STATE && o.size === 8) return payloads.u64.decode(o.body);
  return describeObservation(o);
}
