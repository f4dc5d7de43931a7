/**
 * Tests of the native binding against real syscalls: sockets with fd passing, time-outs, EOF,
 * memfd mappings, eventfds, CLOEXEC on received fds, and that async calls leave the event loop
 * running. Every test closes the fds and removes the temp dirs it creates.
 * @module
 */
import { mkdtempSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  acceptAsync,
  classifyErrno,
  closeFd,
  countOpenFds,
  Errno,
  eventfdCreate,
  eventfdRead,
  eventfdWrite,
  isNativeError,
  memfdCreate,
  mmapShared,
  NativeError,
  NativeLoadError,
  loadFuzzTarget,
  pipe,
  pollAsync,
  pollSync,
  PollEvent,
  recvMsgAsync,
  recvMsgSync,
  sendMsg,
  sendMsgAsync,
  setNonBlocking,
  shutdownFd,
  socketPair,
  startFlipper,
  unixConnect,
  unixListen,
} from './index.js';
import type { Mapping } from './index.js';

/** fds and dirs opened by the running test, released in afterEach even when it fails. */
const openFds = new Set<number>();
const tempDirs: string[] = [];
const mappings: Mapping[] = [];

function track<T extends number | number[]>(fds: T): T {
  for (const fd of Array.isArray(fds) ? fds : [fds]) openFds.add(fd);
  return fds;
}

function release(fd: number): void {
  openFds.delete(fd);
  closeFd(fd);
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vhostlab-native-'));
  tempDirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const m of mappings.splice(0)) m.unmap();
  for (const fd of openFds) closeFd(fd);
  openFds.clear();
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `flags:` of /proc/self/fdinfo/<fd>, in octal there; O_CLOEXEC is 02000000. */
function isCloexec(fd: number): boolean {
  const text = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  const m = /^flags:\s*([0-7]+)$/m.exec(text);
  if (m === null) throw new Error(`no flags in fdinfo of ${fd}`);
  return (parseInt(m[1]!, 8) & 0o2000000) !== 0;
}

async function expectNativeError(p: Promise<unknown> | (() => unknown), errnoName: string): Promise<NativeError> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    caught = e;
  }
  expect(isNativeError(caught)).toBe(true);
  const err = caught as NativeError;
  expect(err.errnoName).toBe(errnoName);
  expect(err.code).toBe('VHU_ERR_NATIVE');
  return err;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('socketpair and SCM_RIGHTS', () => {
  it('round-trips bytes with three fds; a received pipe end is the same pipe', async () => {
    const [a, b] = track(socketPair());
    const [r1, w1] = track(pipe());
    const [, w2] = track(pipe());
    const ev = track(eventfdCreate());

    expect(sendMsg(a, text('hello'), [w1, w2, ev])).toBe(5);
    const got = await recvMsgAsync(b, 64, 8, 1_000);
    track(got.fds);

    expect(str(got.data)).toBe('hello');
    expect(got.fds).toHaveLength(3);
    expect(got.truncatedFds).toBe(false);
    // New numbers, not the sender's: the kernel installed duplicates.
    expect(got.fds).not.toContain(w1);

    // Writing into the received copy of w1 is readable from the original read end r1.
    expect(writeSync(got.fds[0]!, 'via pipe')).toBe(8);
    const fromPipe = await pollAsync([{ fd: r1, events: PollEvent.IN }], 1_000);
    expect(fromPipe[0]! & PollEvent.IN).toBe(PollEvent.IN);
    const buf = Buffer.alloc(64);
    const n = readSync(r1, buf, 0, buf.length, null);
    expect(buf.subarray(0, n).toString()).toBe('via pipe');

    // The received eventfd is the same counter as the original.
    eventfdWrite(got.fds[2]!, 5n);
    expect(eventfdRead(ev)).toBe(5n);
  });

  it('received fds are close-on-exec, and so are created ones', async () => {
    const [a, b] = track(socketPair());
    const [r, w] = track(pipe());
    expect(isCloexec(a)).toBe(true);
    expect(isCloexec(r)).toBe(true);

    sendMsg(a, text('x'), [w]);
    const got = recvMsgSync(b, 16, 4, 1_000);
    track(got.fds);
    expect(got.fds).toHaveLength(1);
    expect(isCloexec(got.fds[0]!)).toBe(true);
  });

  it('closes surplus fds and reports truncation', async () => {
    const [a, b] = track(socketPair());
    const evs = track([eventfdCreate(), eventfdCreate(), eventfdCreate()]);
    const before = countOpenFds();

    sendMsg(a, text('y'), evs);
    const got = recvMsgSync(b, 16, 1, 1_000);
    track(got.fds);

    expect(got.fds).toHaveLength(1);
    expect(got.truncatedFds).toBe(true);
    // Exactly one new fd: the two surplus ones were closed on arrival.
    expect(countOpenFds()).toBe(before + 1);
  });

  it('sends 1 MiB in parts with fds only once, while the reader drains it', async () => {
    const [a, b] = track(socketPair());
    // Non-blocking, the kernel takes only what fits in the socket buffer per sendmsg, so the C
    // loop must resume after partial writes and EAGAIN (a blocking send would finish in one call).
    setNonBlocking(a, true);
    const ev = track(eventfdCreate());
    const big = new Uint8Array(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;

    const sending = sendMsgAsync(a, big, [ev], 20_000);
    const parts: Uint8Array[] = [];
    const fds: number[] = [];
    let total = 0;
    while (total < big.length) {
      const got = await recvMsgAsync(b, 64 * 1024, 4, 10_000);
      track(got.fds);
      expect(got.data.length).toBeGreaterThan(0);
      parts.push(got.data);
      fds.push(...got.fds);
      total += got.data.length;
    }
    expect(await sending).toBe(big.length);

    // More than one read proves it travelled in parts; one fd proves it was attached once.
    expect(parts.length).toBeGreaterThan(1);
    expect(fds).toHaveLength(1);
    const joined = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      joined.set(p, off);
      off += p.length;
    }
    expect(Buffer.compare(joined, big)).toBe(0);
  });

  it('recv time-out rejects with a retryable ETIMEDOUT', async () => {
    const [, b] = track(socketPair());
    const err = await expectNativeError(recvMsgAsync(b, 16, 0, 20), 'ETIMEDOUT');
    expect(err.kind).toBe('retryable');
    expect(err.errno).toBe(Errno.ETIMEDOUT);
    expect(err.syscall).toBe('recvmsg');
    const syncErr = await expectNativeError(() => recvMsgSync(b, 16, 0, 0), 'ETIMEDOUT');
    expect(syncErr.kind).toBe('retryable');
  });

  it('returns EOF (empty data) after the peer closes', async () => {
    const [a, b] = track(socketPair());
    sendMsg(a, text('last'));
    release(a);
    const first = await recvMsgAsync(b, 16, 0, 1_000);
    expect(str(first.data)).toBe('last');
    const eof = await recvMsgAsync(b, 16, 0, 1_000);
    expect(eof.data.length).toBe(0);
    expect(eof.fds).toEqual([]);
  });

  it('sending to a closed peer is a broken EPIPE, without SIGPIPE', async () => {
    const [a, b] = track(socketPair());
    release(b);
    const err = await expectNativeError(() => sendMsg(a, text('z')), 'EPIPE');
    expect(err.kind).toBe('broken');
  });

  it('shutdownFd wakes a pending receive with EOF', async () => {
    const [, b] = track(socketPair());
    const pending = recvMsgAsync(b, 16, 0, 10_000);
    setTimeout(() => shutdownFd(b), 10);
    expect((await pending).data.length).toBe(0);
  });

  it('keeps the event loop running while recvMsgAsync waits', async () => {
    const [a, b] = track(socketPair());
    const order: string[] = [];
    const pending = recvMsgAsync(b, 16, 0, 10_000).then((r) => {
      order.push(`recv:${str(r.data)}`);
    });
    // This timer can only fire if the wait is off the main thread; it then feeds the receiver.
    setTimeout(() => {
      order.push('timer');
      sendMsg(a, text('late'));
    }, 20);
    await pending;
    expect(order).toEqual(['timer', 'recv:late']);
  });
});

describe('unix listen / connect / accept', () => {
  it('accepts a connection on a temp path and exchanges data both ways', async () => {
    const path = join(tempDir(), 'vhost.sock');
    const listener = track(unixListen(path, 4));
    const client = track(unixConnect(path));
    const server = track(await acceptAsync(listener, 1_000));
    expect(isCloexec(server)).toBe(true);

    sendMsg(client, text('ping'));
    expect(str(recvMsgSync(server, 16, 0, 1_000).data)).toBe('ping');
    sendMsg(server, text('pong'));
    expect(str((await recvMsgAsync(client, 16, 0, 1_000)).data)).toBe('pong');
  });

  it('accept times out with ETIMEDOUT when no one connects', async () => {
    const listener = track(unixListen(join(tempDir(), 'idle.sock')));
    const err = await expectNativeError(acceptAsync(listener, 20), 'ETIMEDOUT');
    expect(err.kind).toBe('retryable');
  });

  it('does not unlink an existing path: a second listen is EADDRINUSE', () => {
    const path = join(tempDir(), 'busy.sock');
    track(unixListen(path));
    expect(() => unixListen(path)).toThrow(/EADDRINUSE/);
  });

  it('connecting to a missing path is a broken NativeError', async () => {
    const err = await expectNativeError(() => unixConnect(join(tempDir(), 'absent.sock')), 'ENOENT');
    expect(err.kind).toBe('broken');
    expect(err.syscall).toBe('connect');
    expect(err.message).toContain('absent.sock');
  });
});

describe('racing writer', () => {
  it('alternates the words it was given, leaves the others alone, and stops', async () => {
    const fd = track(memfdCreate('flip', 4096));
    const m = mmapShared(fd, 4096);
    mappings.push(m);
    const words = new Uint32Array(m.buffer);
    words.fill(7);
    const f = startFlipper(m.address + 16n, 64, 4, 0x11, 0x22);
    const seen = new Set<number>();
    const until = Date.now() + 2000;
    while (seen.size < 2 && Date.now() < until) {
      // 7 until the thread's first store lands.
      if (words[4] !== 7) seen.add(words[4]!);
      await new Promise((r) => setTimeout(r, 0));
    }
    const rounds = f.stop();
    expect(rounds).toBeGreaterThan(1);
    expect(f.stop()).toBe(0);
    expect([...seen].every((v) => v === 0x11 || v === 0x22)).toBe(true);
    for (const i of [4, 20, 36, 52]) expect([0x11, 0x22]).toContain(words[i]);
    expect(words[5]).toBe(7);
    expect(words[68]).toBe(7);
    const settled = words[4];
    await new Promise((r) => setTimeout(r, 10));
    expect(words[4]).toBe(settled);
  });
});

describe('memfd and mmap', () => {
  it('two mappings of one memfd see each other’s writes', () => {
    const fd = track(memfdCreate('guest-ram', 2 * 4096));
    const m1 = mmapShared(fd, 2 * 4096);
    const m2 = mmapShared(fd, 4096, 4096);
    mappings.push(m1, m2);
    expect(m1.address).not.toBe(m2.address);

    const v1 = new Uint8Array(m1.buffer);
    const v2 = new Uint8Array(m2.buffer);
    v1[4096 + 10] = 0xab; // second page through the first mapping
    expect(v2[10]).toBe(0xab);
    v2[0] = 0x5a;
    expect(v1[4096]).toBe(0x5a);
  });

  it('unmap is idempotent and stale views read zeros instead of faulting', () => {
    const fd = track(memfdCreate('stale', 4096));
    const m = mmapShared(fd, 4096);
    const v = new Uint8Array(m.buffer);
    v[0] = 9;
    m.unmap();
    m.unmap();
    expect(v[0]).toBe(0);
    // The file kept the byte: a fresh mapping still sees it.
    const again = mmapShared(fd, 4096, 0, true);
    mappings.push(again);
    expect(new Uint8Array(again.buffer)[0]).toBe(9);
  });

  it('mapping past a bad fd is a NativeError', async () => {
    await expectNativeError(() => mmapShared(-1, 4096), 'EBADF');
  });
});

describe('eventfd, pipe, poll, close', () => {
  it('eventfd reads the summed counter, then null', () => {
    const ev = track(eventfdCreate());
    expect(eventfdRead(ev)).toBeNull();
    eventfdWrite(ev);
    eventfdWrite(ev, 41n);
    expect(eventfdRead(ev)).toBe(42n);
    expect(eventfdRead(ev)).toBeNull();
    const primed = track(eventfdCreate(3));
    expect(eventfdRead(primed)).toBe(3n);
  });

  it('eventfdRead does not block on a blocking eventfd', () => {
    const ev = track(eventfdCreate());
    setNonBlocking(ev, false);
    expect(eventfdRead(ev)).toBeNull();
  });

  it('pollAsync reports POLLIN once data is pending, and zero on time-out', async () => {
    const [a, b] = track(socketPair());
    const ev = track(eventfdCreate());
    expect(await pollAsync([{ fd: b, events: PollEvent.IN }], 10)).toEqual([0]);

    const waiting = pollAsync(
      [
        { fd: ev, events: PollEvent.IN },
        { fd: b, events: PollEvent.IN },
      ],
      10_000,
    );
    setTimeout(() => sendMsg(a, text('!')), 10);
    const revents = await waiting;
    expect(revents[0]).toBe(0);
    expect(revents[1]! & PollEvent.IN).toBe(PollEvent.IN);

    expect(pollSync([{ fd: a, events: PollEvent.OUT }], 0)[0]! & PollEvent.OUT).toBe(PollEvent.OUT);
  });

  it('closing an fd twice throws a fatal EBADF NativeError', async () => {
    const [r, w] = pipe();
    closeFd(w);
    closeFd(r);
    const err = await expectNativeError(() => closeFd(r), 'EBADF');
    expect(err.kind).toBe('fatal');
    expect(err).toBeInstanceOf(NativeError);
  });

  it('countOpenFds tracks created and closed fds', () => {
    const before = countOpenFds();
    const [r, w] = pipe();
    expect(countOpenFds()).toBe(before + 2);
    closeFd(r);
    closeFd(w);
    expect(countOpenFds()).toBe(before);
  });
});

describe('errors', () => {
  it('classifies errnos', () => {
    expect(classifyErrno(Errno.EAGAIN)).toBe('retryable');
    expect(classifyErrno(Errno.EINTR)).toBe('retryable');
    expect(classifyErrno(Errno.ECONNRESET)).toBe('broken');
    expect(classifyErrno(Errno.ENOTCONN)).toBe('broken');
    expect(classifyErrno(Errno.ECONNREFUSED)).toBe('broken');
    expect(classifyErrno(Errno.ENOENT, 'connect')).toBe('broken');
    expect(classifyErrno(Errno.ENOENT, 'memfd_create')).toBe('fatal');
    expect(classifyErrno(Errno.EMFILE)).toBe('fatal');
    expect(classifyErrno(Errno.EINVAL)).toBe('fatal');
  });

  it('isNativeError rejects other errors', () => {
    expect(isNativeError(new Error('x'))).toBe(false);
    expect(isNativeError({ code: 'VHU_ERR_NATIVE' })).toBe(false);
    expect(isNativeError(new NativeError('read', Errno.EIO))).toBe(true);
  });

  it('rejects bad arguments before calling C', () => {
    expect(() => recvMsgSync(0, 0, 0, 0)).toThrow(RangeError);
    expect(() => sendMsg(0, text('x'), new Array<number>(300).fill(0))).toThrow(RangeError);
  });
});

describe('loadFuzzTarget', () => {
  it('names the path when the library cannot be loaded', () => {
    const path = join(tempDir(), 'missing-target.so');
    let caught: unknown;
    try {
      loadFuzzTarget(path);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NativeLoadError);
    expect((caught as NativeLoadError).message).toContain(path);
  });

  it('names the missing symbol of a library that is not a fuzz target', () => {
    // libvhostlab.so itself loads fine but has no libFuzzer entry point.
    const lib = fileURLToPath(new URL('./build/libvhostlab.so', import.meta.url));
    let caught: unknown;
    try {
      loadFuzzTarget(lib);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NativeLoadError);
    expect((caught as NativeLoadError).symbol).toBe('LLVMFuzzerTestOneInput');
    expect((caught as NativeLoadError).message).toContain(lib);
  });
});
