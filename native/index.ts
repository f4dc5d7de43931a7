/**
 * The native boundary: the one file in vhostlab that imports koffi. It binds
 * `native/build/libvhostlab.so` (built from `vhostlab_native.c` by `npm run build`) and turns its
 * `-errno` returns into {@link NativeError}s.
 *
 * What lives here and why (vhost-user.rst "Communication"): every vhost-user request travels over a
 * unix stream socket, and several carry fds (memory regions, kick/call/err eventfds, the log and
 * inflight areas) as SCM_RIGHTS ancillary data, which Node's `net` module cannot send or receive.
 * Guest memory is a memfd both sides mmap, and kicks/calls are eventfds. Everything else (framing,
 * sessions, ring processing) is TypeScript in `fakes/`.
 *
 * Rules every caller can rely on:
 * - Every fd this module creates or receives is close-on-exec, so peers spawned as child processes
 *   (DPDK, QEMU) never inherit vhostlab's fds.
 * - Every wait has a time-out in milliseconds (a negative one waits forever; avoid it).
 * - Blocking calls have `…Async` variants that run on libuv's thread pool (koffi `.async`), so the
 *   event loop keeps running while they wait; an in-process front-end and back-end talk to each
 *   other through them. vitest.config.ts raises `UV_THREADPOOL_SIZE` because each pending call
 *   holds a pool thread. The `…Sync` variants block the event loop and suit hot paths only.
 * - Never close an fd while an async call on it is pending: the number may be reused by a new fd
 *   before the worker thread returns. Call {@link shutdownFd} first (it wakes pending receives on
 *   a socket with EOF), await them, then {@link closeFd}.
 * - Sends move the whole buffer or fail; after a failed or timed-out send the stream position is
 *   unknown and the connection must be treated as broken.
 *
 * The library is loaded lazily on first use, so importing this module never fails; the first call
 * throws {@link NativeLoadError} when the build is missing.
 * @module
 */
import koffi from 'koffi';
import type { KoffiFunc } from 'koffi';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSystemErrorMap } from 'node:util';

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * How a caller should react to an errno: `retryable` (try again later: EAGAIN, EINTR, ETIMEDOUT),
 * `broken` (the peer or connection is gone: reconnect) or `fatal` (a bug or resource exhaustion).
 */
export type ErrnoKind = 'retryable' | 'broken' | 'fatal';

const E = osConstants.errno;

/** Linux errno values callers compare against (`err.errno === Errno.EPIPE`). */
export const Errno = Object.freeze({
  EPERM: E.EPERM,
  ENOENT: E.ENOENT,
  EINTR: E.EINTR,
  EIO: E.EIO,
  EBADF: E.EBADF,
  EAGAIN: E.EAGAIN,
  ENOMEM: E.ENOMEM,
  EACCES: E.EACCES,
  EFAULT: E.EFAULT,
  EEXIST: E.EEXIST,
  ENODEV: E.ENODEV,
  EINVAL: E.EINVAL,
  ENFILE: E.ENFILE,
  EMFILE: E.EMFILE,
  ENOSPC: E.ENOSPC,
  EPIPE: E.EPIPE,
  ENAMETOOLONG: E.ENAMETOOLONG,
  ENOTSOCK: E.ENOTSOCK,
  EADDRINUSE: E.EADDRINUSE,
  ECONNABORTED: E.ECONNABORTED,
  ECONNRESET: E.ECONNRESET,
  ENOTCONN: E.ENOTCONN,
  ETIMEDOUT: E.ETIMEDOUT,
  ECONNREFUSED: E.ECONNREFUSED,
  EOVERFLOW: E.EOVERFLOW,
} as const);

const RETRYABLE: ReadonlySet<number> = new Set([Errno.EAGAIN, Errno.EINTR, Errno.ETIMEDOUT]);
const BROKEN: ReadonlySet<number> = new Set([
  Errno.EPIPE,
  Errno.ECONNRESET,
  Errno.ENOTCONN,
  Errno.ECONNREFUSED,
  Errno.ECONNABORTED,
]);

/**
 * The single errno classifier (rust-vmm's SocketRetry/SocketBroken split). ENOENT counts as
 * `broken` for `connect` (no one listens at the path yet, or any more) and when no syscall is
 * given; for other syscalls it is `fatal`.
 */
export function classifyErrno(errno: number, syscall?: string): ErrnoKind {
  if (RETRYABLE.has(errno)) return 'retryable';
  if (BROKEN.has(errno)) return 'broken';
  if (errno === Errno.ENOENT && (syscall === undefined || syscall === 'connect')) return 'broken';
  return 'fatal';
}

let errorMap: Map<number, [string, string]> | undefined;

/** `[name, message]` for a positive errno, e.g. `['ETIMEDOUT', 'connection timed out']`. */
function describeErrno(errno: number): [string, string] {
  errorMap ??= getSystemErrorMap();
  return errorMap.get(-errno) ?? [`E${errno}`, `unknown error ${errno}`];
}

/** A syscall in `libvhostlab.so` failed; carries the errno and how to react to it. */
export class NativeError extends Error {
  override readonly name = 'NativeError';
  /** Stable error code shared by all vhostlab errors' `VHU_ERR_*` scheme. */
  readonly code = 'VHU_ERR_NATIVE';
  /** The syscall that failed, e.g. `recvmsg`. */
  readonly syscall: string;
  /** Positive errno value. */
  readonly errno: number;
  /** Symbolic errno name, e.g. `ETIMEDOUT`. */
  readonly errnoName: string;
  /** How a caller should react; see {@link classifyErrno}. */
  readonly kind: ErrnoKind;

  /** @param detail - what the call was about (a path, an fd), for the message only. */
  constructor(syscall: string, errno: number, detail?: string) {
    const [errnoName, text] = describeErrno(errno);
    super(`${syscall}${detail === undefined ? '' : ` (${detail})`} failed: ${errnoName}: ${text}`);
    this.syscall = syscall;
    this.errno = errno;
    this.errnoName = errnoName;
    this.kind = classifyErrno(errno, syscall);
  }
}

/** True for a {@link NativeError}, also one from another copy of this module. */
export function isNativeError(e: unknown): e is NativeError {
  return e instanceof NativeError || (e instanceof Error && (e as { code?: unknown }).code === 'VHU_ERR_NATIVE');
}

/** A shared library (libvhostlab.so or a fuzz target) or one of its symbols could not be loaded. */
export class NativeLoadError extends Error {
  override readonly name = 'NativeLoadError';
  /** Stable error code. */
  readonly code = 'VHU_ERR_NATIVE_LOAD';
  /** The library path. */
  readonly path: string;
  /** The missing symbol, when the library itself loaded. */
  readonly symbol: string | undefined;

  constructor(message: string, path: string, symbol?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
    this.symbol = symbol;
  }
}

/** Throws a {@link NativeError} for a negative return value; passes others through. */
function check(rc: number, syscall: string, detail?: string): number {
  if (rc < 0) throw new NativeError(syscall, -rc, detail);
  return rc;
}

// ---------------------------------------------------------------------------------------------
// Library loading
// ---------------------------------------------------------------------------------------------

/** `poll(2)` event bits, for {@link pollSync} / {@link pollAsync}. */
export const PollEvent = { IN: 1, PRI: 2, OUT: 4, ERR: 8, HUP: 16, NVAL: 32 } as const;

/** Most fds one message may carry (Linux SCM_MAX_FD); mirrors VHL_MAX_FDS. */
export const MAX_FDS_PER_MESSAGE = 253;

type Fn<A extends unknown[]> = KoffiFunc<(...args: A) => number>;

interface Bindings {
  listen: Fn<[path: string, backlog: number]>;
  connect: Fn<[path: string, timeoutMs: number]>;
  accept: Fn<[fd: number, timeoutMs: number]>;
  socketpair: Fn<[out: Int32Array]>;
  shutdown: Fn<[fd: number]>;
  sendmsg: Fn<[fd: number, data: Uint8Array, len: number, fds: Int32Array | null, nfds: number, timeoutMs: number]>;
  recvmsg: Fn<[fd: number, buf: Uint8Array, len: number, fds: Int32Array, maxFds: number, info: Int32Array, timeoutMs: number]>;
  poll: Fn<[fds: Int32Array, events: Int32Array, revents: Int32Array, n: number, timeoutMs: number]>;
  memfd: Fn<[name: string, size: number]>;
  ftruncate: Fn<[fd: number, size: number]>;
  mmap: Fn<[fd: number, size: number, offset: number, readOnly: number, out: BigUint64Array]>;
  retire: Fn<[addr: bigint, size: number]>;
  munmap: Fn<[addr: bigint, size: number]>;
  eventfd: Fn<[initial: number]>;
  eventfdWrite: Fn<[fd: number, value: bigint]>;
  eventfdSignal: Fn<[fd: number, value: bigint]>;
  eventfdRead: Fn<[fd: number, out: BigUint64Array]>;
  pipe: Fn<[out: Int32Array]>;
  setNonBlocking: Fn<[fd: number, on: number]>;
  close: Fn<[fd: number]>;
  flipperStart: Fn<[base: bigint, stride: number, count: number, a: number, b: number, out: BigUint64Array]>;
  flipperStop: Fn<[handle: bigint, out: BigUint64Array]>;
}

/**
 * Finds `native/build/libvhostlab.so` from this module's location: walks up to the directory with
 * package.json, which works from the source (`native/index.ts`, as vitest runs it) and from the
 * compiled `dist/native/index.js` alike.
 */
function libraryPath(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      const lib = join(dir, 'native', 'build', 'libvhostlab.so');
      if (existsSync(lib)) return lib;
      throw new NativeLoadError(`native library ${lib} is missing; run \`npm run build\``, lib);
    }
    if (dirname(dir) === dir) {
      throw new NativeLoadError(`no package.json above ${start}; run \`npm run build\` in the vhostlab checkout`, start);
    }
  }
}

function loadBindings(): Bindings {
  const path = libraryPath();
  const lib = koffi.load(path);
  const f = <A extends unknown[]>(proto: string): Fn<A> => lib.func(proto) as unknown as Fn<A>;
  return {
    listen: f('int vhl_unix_listen(const char *path, int backlog)'),
    connect: f('int vhl_unix_connect(const char *path, int timeout_ms)'),
    accept: f('int vhl_accept(int listen_fd, int timeout_ms)'),
    socketpair: f('int vhl_socketpair(int *out_fds)'),
    shutdown: f('int vhl_shutdown(int fd)'),
    sendmsg: f('int vhl_sendmsg(int fd, const uint8_t *data, size_t len, const int *fds, int nfds, int timeout_ms)'),
    recvmsg: f(
      'int vhl_recvmsg(int fd, uint8_t *buf, size_t len, int *out_fds, int max_fds, int *out_info, int timeout_ms)',
    ),
    poll: f('int vhl_poll(const int *fds, const int *events, int *out_revents, int n, int timeout_ms)'),
    memfd: f('int vhl_memfd_create(const char *name, uint64_t size)'),
    ftruncate: f('int vhl_ftruncate(int fd, uint64_t size)'),
    mmap: f('int vhl_mmap(int fd, uint64_t size, uint64_t offset, int read_only, uint64_t *out_addr)'),
    retire: f('int vhl_mmap_retire(uint64_t addr, uint64_t size)'),
    munmap: f('int vhl_munmap(uint64_t addr, uint64_t size)'),
    eventfd: f('int vhl_eventfd(uint32_t initial)'),
    eventfdWrite: f('int vhl_eventfd_write(int fd, uint64_t value)'),
    eventfdSignal: f('int vhl_eventfd_signal(int fd, uint64_t value)'),
    eventfdRead: f('int vhl_eventfd_read(int fd, uint64_t *out_value)'),
    pipe: f('int vhl_pipe(int *out_fds)'),
    setNonBlocking: f('int vhl_set_nonblocking(int fd, int on)'),
    close: f('int vhl_close(int fd)'),
    flipperStart: f('int vhl_flipper_start(uint64_t base, uint32_t stride, uint32_t count, uint32_t a, uint32_t b, uint64_t *out_handle)'),
    flipperStop: f('int vhl_flipper_stop(uint64_t handle, uint64_t *out_rounds)'),
  };
}

let loaded: Bindings | undefined;

/** The bound library, loaded on first use so that importing this module never throws. */
function lib(): Bindings {
  return (loaded ??= loadBindings());
}

/** Runs a binding on libuv's thread pool and resolves with its raw return value. */
function callAsync<A extends unknown[]>(fn: Fn<A>, ...args: A): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, rc: number) => (err ? reject(err) : resolve(rc)));
  });
}

// ---------------------------------------------------------------------------------------------
// Argument checks (a bad argument is a bug in the caller: TypeError/RangeError, not NativeError)
// ---------------------------------------------------------------------------------------------

function checkCount(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

function checkTimeout(timeoutMs: number): number {
  if (!Number.isFinite(timeoutMs)) return -1;
  return Math.min(Math.trunc(timeoutMs), 0x7fffffff);
}

// ---------------------------------------------------------------------------------------------
// Unix sockets
// ---------------------------------------------------------------------------------------------

/**
 * Creates a listening unix stream socket bound at `path` (non-blocking, close-on-exec). It does
 * not unlink an existing file first: the caller decides whether a stale socket may be replaced.
 */
export function unixListen(path: string, backlog = 16): number {
  return check(lib().listen(path, backlog), 'listen', path);
}

/**
 * Connects a unix stream socket to `path` (blocking mode). `timeoutMs` bounds the wait while the
 * listener's backlog is full. A missing path or absent listener throws a `broken` NativeError.
 */
export function unixConnect(path: string, timeoutMs = 5_000): number {
  return check(lib().connect(path, checkTimeout(timeoutMs)), 'connect', path);
}

/**
 * {@link unixConnect} on a pool thread: a listener whose backlog is full (a peer that stopped
 * accepting) holds the connect for up to `timeoutMs` without blocking the event loop. Rejects
 * with ETIMEDOUT when that time passed. OWNERSHIP: the caller owns the returned fd.
 */
export async function unixConnectAsync(path: string, timeoutMs: number): Promise<number> {
  return check(await callAsync(lib().connect, path, checkTimeout(timeoutMs)), 'connect', path);
}

/**
 * Waits up to `timeoutMs` for a connection on `listenFd` and accepts it (close-on-exec,
 * blocking mode) without blocking the event loop. Rejects with ETIMEDOUT on time-out.
 * OWNERSHIP: the caller owns the returned fd.
 */
export async function acceptAsync(listenFd: number, timeoutMs: number): Promise<number> {
  return check(await callAsync(lib().accept, listenFd, checkTimeout(timeoutMs)), 'accept', `fd ${listenFd}`);
}

/** A connected pair of unix stream sockets (blocking, close-on-exec). The caller owns both fds. */
export function socketPair(): [number, number] {
  const out = new Int32Array(2);
  check(lib().socketpair(out), 'socketpair');
  return [out[0]!, out[1]!];
}

/**
 * `shutdown(SHUT_RDWR)`: the peer sees EOF, and receives pending on this socket in other
 * threads return EOF. Use before {@link closeFd} when an async call may still be waiting.
 */
export function shutdownFd(fd: number): void {
  check(lib().shutdown(fd), 'shutdown', `fd ${fd}`);
}

// ---------------------------------------------------------------------------------------------
// Messages with fds
// ---------------------------------------------------------------------------------------------

/** Scratch fd list for the synchronous paths (single-threaded: never shared with async calls). */
const syncFds = new Int32Array(MAX_FDS_PER_MESSAGE);
const syncInfo = new Int32Array(2);
let syncRecvBuf = new Uint8Array(4096);

function fdList(fds: readonly number[] | undefined, scratch: Int32Array | null): Int32Array | null {
  if (fds === undefined || fds.length === 0) return null;
  checkCount('fds.length', fds.length, 0, MAX_FDS_PER_MESSAGE);
  const list = scratch ?? new Int32Array(fds.length);
  for (let i = 0; i < fds.length; i++) list[i] = fds[i]!;
  return list;
}

/**
 * Sends all of `data`, with `fds` attached (SCM_RIGHTS) to the first byte, looping over partial
 * writes; returns `data.length`. Blocks the event loop while the socket buffer is full, so use
 * {@link sendMsgAsync} for large messages to a peer in this process. Never raises SIGPIPE: a gone
 * peer is a `broken` NativeError (EPIPE).
 * OWNERSHIP: the kernel duplicates `fds`; the caller still owns (and must close) its copies.
 */
export function sendMsg(fd: number, data: Uint8Array, fds?: readonly number[], timeoutMs = 10_000): number {
  const list = fdList(fds, syncFds);
  const nfds = fds?.length ?? 0;
  return check(lib().sendmsg(fd, data, data.length, list, nfds, checkTimeout(timeoutMs)), 'sendmsg', `fd ${fd}`);
}

/** {@link sendMsg} on libuv's thread pool; `data` must not be modified until it settles. */
export async function sendMsgAsync(
  fd: number,
  data: Uint8Array,
  fds?: readonly number[],
  timeoutMs = 10_000,
): Promise<number> {
  const list = fdList(fds, null);
  const nfds = fds?.length ?? 0;
  // SAFETY: the worker thread reads `data` and `list` through raw pointers; both stay referenced
  // by this frame until the call returns, and their backing stores never move.
  const rc = await callAsync(lib().sendmsg, fd, data, data.length, list, nfds, checkTimeout(timeoutMs));
  return check(rc, 'sendmsg', `fd ${fd}`);
}

/** What one `recvmsg` returned. */
export interface Received {
  /** The bytes read, in a buffer the caller owns; length 0 means the peer closed (EOF). */
  data: Uint8Array<ArrayBuffer>;
  /** Fds that arrived with the bytes (close-on-exec). OWNERSHIP: the caller must close them. */
  fds: number[];
  /** More fds arrived than `maxFds` allowed; the surplus was closed on arrival. */
  truncatedFds: boolean;
}

function checkRecvArgs(maxBytes: number, maxFds: number): void {
  checkCount('maxBytes', maxBytes, 1, 0x7fffffff);
  checkCount('maxFds', maxFds, 0, MAX_FDS_PER_MESSAGE);
}

function takeFds(list: Int32Array, count: number): number[] {
  const fds = new Array<number>(count);
  for (let i = 0; i < count; i++) fds[i] = list[i]!;
  return fds;
}

/**
 * Waits up to `timeoutMs` for data, then reads at most `maxBytes` bytes and up to `maxFds` fds
 * without blocking the event loop. Stream semantics: a message may arrive in several reads, and
 * fds come with the read that holds the byte they were sent with. Rejects with a `retryable`
 * NativeError `ETIMEDOUT` on time-out.
 */
export async function recvMsgAsync(fd: number, maxBytes: number, maxFds: number, timeoutMs: number): Promise<Received> {
  checkRecvArgs(maxBytes, maxFds);
  // Per-call buffers: several receives may be pending at once on different pool threads. A plain
  // Uint8Array (not a pooled Buffer) so the caller owns all of `data.buffer` and `slice` copies.
  const buf = new Uint8Array(maxBytes);
  const list = new Int32Array(Math.max(maxFds, 1));
  const info = new Int32Array(2);
  // SAFETY: koffi hands the worker thread raw pointers into buf/list/info. ArrayBuffer backing
  // stores never move, and this frame keeps all three alive until the call has returned.
  const rc = await callAsync(lib().recvmsg, fd, buf, maxBytes, list, maxFds, info, checkTimeout(timeoutMs));
  const n = check(rc, 'recvmsg', `fd ${fd}`);
  // A short read keeps only a right-sized copy rather than pinning the whole maxBytes buffer.
  const data = n * 2 >= maxBytes ? buf.subarray(0, n) : buf.slice(0, n);
  return { data, fds: takeFds(list, info[0]!), truncatedFds: info[1] !== 0 };
}

/** {@link recvMsgAsync} on the calling thread: blocks the event loop for up to `timeoutMs`. */
export function recvMsgSync(fd: number, maxBytes: number, maxFds: number, timeoutMs: number): Received {
  checkRecvArgs(maxBytes, maxFds);
  if (syncRecvBuf.length < maxBytes) syncRecvBuf = new Uint8Array(maxBytes);
  const n = check(
    lib().recvmsg(fd, syncRecvBuf, maxBytes, syncFds, maxFds, syncInfo, checkTimeout(timeoutMs)),
    'recvmsg',
    `fd ${fd}`,
  );
  // The scratch buffer is reused by the next call, so the caller gets its own copy.
  const data = new Uint8Array(n);
  data.set(syncRecvBuf.subarray(0, n));
  return { data, fds: takeFds(syncFds, syncInfo[0]!), truncatedFds: syncInfo[1] !== 0 };
}

// ---------------------------------------------------------------------------------------------
// poll
// ---------------------------------------------------------------------------------------------

/** One entry of a poll set: an fd and the {@link PollEvent} bits to wait for. */
export interface PollRequest {
  /** The fd to watch. */
  fd: number;
  /** {@link PollEvent} bits (ERR, HUP and NVAL are always reported). */
  events: number;
}

function pollArgs(fds: readonly PollRequest[]): [Int32Array, Int32Array, Int32Array] {
  const n = fds.length;
  const f = new Int32Array(n);
  const e = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    f[i] = fds[i]!.fd;
    e[i] = fds[i]!.events;
  }
  return [f, e, new Int32Array(n)];
}

/**
 * Waits up to `timeoutMs` until one of `fds` is ready, without blocking the event loop. Resolves
 * with the `revents` of each entry, in order; all zero on time-out.
 */
export async function pollAsync(fds: readonly PollRequest[], timeoutMs: number): Promise<number[]> {
  const [f, e, r] = pollArgs(fds);
  check(await callAsync(lib().poll, f, e, r, fds.length, checkTimeout(timeoutMs)), 'poll');
  return Array.from(r);
}

/** {@link pollAsync} on the calling thread: blocks the event loop for up to `timeoutMs`. */
export function pollSync(fds: readonly PollRequest[], timeoutMs: number): number[] {
  const [f, e, r] = pollArgs(fds);
  check(lib().poll(f, e, r, fds.length, checkTimeout(timeoutMs)), 'poll');
  return Array.from(r);
}

// ---------------------------------------------------------------------------------------------
// Shared memory
// ---------------------------------------------------------------------------------------------

/** Creates an anonymous memory file of `size` bytes (close-on-exec, sealing allowed). */
export function memfdCreate(name: string, size: number): number {
  checkCount('size', size, 0, Number.MAX_SAFE_INTEGER);
  return check(lib().memfd(name, size), 'memfd_create', name);
}

/** Sets the size of the file behind `fd`. */
export function ftruncate(fd: number, size: number): void {
  checkCount('size', size, 0, Number.MAX_SAFE_INTEGER);
  check(lib().ftruncate(fd, size), 'ftruncate', `fd ${fd}`);
}

/** A `MAP_SHARED` mapping of (part of) a file, seen from JavaScript as an ArrayBuffer. */
export interface Mapping {
  /** Virtual address in this process (a front-end's "user address" in SET_MEM_TABLE). */
  readonly address: bigint;
  /** Length in bytes. */
  readonly size: number;
  /** Zero-copy view of the mapped bytes. */
  readonly buffer: ArrayBuffer;
  /**
   * Releases the mapping; idempotent. `buffer` then reads as zeros (see {@link mmapShared}). Call
   * it explicitly: garbage collection of `buffer` only reclaims the address range as a fallback.
   */
  unmap(): void;
}

interface MappingToken {
  address: bigint;
  size: number;
}

// Frees the address range once no JavaScript view can reach it any more (see mmapShared).
const reclaim = new FinalizationRegistry<MappingToken>((t) => {
  lib().munmap(t.address, t.size);
});

class SharedMapping implements Mapping {
  readonly address: bigint;
  readonly size: number;
  readonly buffer: ArrayBuffer;
  #mapped = true;

  constructor(address: bigint, size: number) {
    this.address = address;
    this.size = size;
    // SAFETY: [address, address + size) is a live mapping owned by this object. The view stays
    // valid for as long as the buffer is reachable: unmap() only swaps the pages for private zero
    // pages, and the range is returned to the kernel by `reclaim` after the buffer is collected.
    this.buffer = koffi.view(address, size);
    reclaim.register(this.buffer, { address, size });
  }

  unmap(): void {
    if (!this.#mapped) return;
    this.#mapped = false;
    check(lib().retire(this.address, this.size), 'munmap', `0x${this.address.toString(16)}`);
  }
}

/**
 * Maps `size` bytes of `fd` from `offset` (page-aligned) with `MAP_SHARED`, read-write unless
 * `readOnly`. Writes through `buffer` are visible to every other mapping of the file, including
 * the peer's.
 *
 * SAFETY: with `readOnly`, writing through `buffer` raises SIGSEGV and kills the process; use it
 * only for memory this process never writes. After `unmap()`, stale views read zeros and writes
 * are discarded instead of touching memory that may be mapped again later.
 */
export function mmapShared(fd: number, size: number, offset = 0, readOnly = false): Mapping {
  checkCount('size', size, 1, Number.MAX_SAFE_INTEGER);
  checkCount('offset', offset, 0, Number.MAX_SAFE_INTEGER);
  const out = new BigUint64Array(1);
  check(lib().mmap(fd, size, offset, readOnly ? 1 : 0, out), 'mmap', `fd ${fd}`);
  return new SharedMapping(out[0]!, size);
}

// ---------------------------------------------------------------------------------------------
// eventfd, pipes, fd control
// ---------------------------------------------------------------------------------------------

/** Creates an eventfd (always `EFD_NONBLOCK | EFD_CLOEXEC`) with counter `initial`. */
export function eventfdCreate(initial = 0): number {
  checkCount('initial', initial, 0, 0xffffffff);
  return check(lib().eventfd(initial), 'eventfd');
}

/** Adds `value` to the eventfd counter (a kick or a call). EAGAIN when the counter would overflow. */
export function eventfdWrite(fd: number, value = 1n): void {
  if (value <= 0n || value >= 0xffffffffffffffffn) throw new RangeError(`eventfd value out of range: ${value}`);
  check(lib().eventfdWrite(fd, value), 'write', `eventfd ${fd}`);
}

/**
 * Like {@link eventfdWrite}, for an fd a peer handed over (call, err): never blocks, also when
 * the fd is a full blocking pipe rather than an eventfd; throws NativeError EAGAIN when the fd
 * takes no write now, EPIPE when its reader is gone.
 */
export function eventfdSignal(fd: number, value = 1n): void {
  if (value <= 0n || value >= 0xffffffffffffffffn) throw new RangeError(`eventfd value out of range: ${value}`);
  check(lib().eventfdSignal(fd, value), 'write', `fd ${fd}`);
}

const eventfdOut = new BigUint64Array(1);

/**
 * Reads and resets the eventfd counter; `null` when nothing is pending. Never blocks, also for
 * blocking eventfds received from a peer (the C side polls first).
 */
export function eventfdRead(fd: number): bigint | null {
  const rc = lib().eventfdRead(fd, eventfdOut);
  if (rc === -Errno.EAGAIN) return null;
  check(rc, 'read', `eventfd ${fd}`);
  return eventfdOut[0]!;
}

/** A pipe (close-on-exec, blocking). The caller owns both ends. */
export function pipe(): [readFd: number, writeFd: number] {
  const out = new Int32Array(2);
  check(lib().pipe(out), 'pipe2');
  return [out[0]!, out[1]!];
}

/** Turns `O_NONBLOCK` on or off. */
export function setNonBlocking(fd: number, on: boolean): void {
  check(lib().setNonBlocking(fd, on ? 1 : 0), 'fcntl', `fd ${fd}`);
}

/** Closes `fd`. OWNERSHIP: the number may be reused at once. A bad fd throws NativeError EBADF. */
export function closeFd(fd: number): void {
  check(lib().close(fd), 'close', `fd ${fd}`);
}

/** A running racing writer (see {@link startFlipper}). */
export interface Flipper {
  /** Stops the thread and returns how many rounds it stored; idempotent (later calls return 0). */
  stop(): number;
}

/**
 * Starts a native thread that stores `a`, then `b`, into the u32 at `base + i * stride` of this
 * process's memory for each `i < count`, round after round, until {@link Flipper.stop}: the
 * concurrent driver write of the double-fetch checks (CHECKLIST VU-DP-015/021). SAFETY: `base`
 * must be a host address of a live shared mapping covering the range, kept mapped until stop
 * (a retired mapping is harmless: its pages are private zero pages by then).
 */
export function startFlipper(base: bigint, stride: number, count: number, a: number, b: number): Flipper {
  checkCount('stride', stride, 0, 0xffffffff);
  checkCount('count', count, 1, 0xffffffff);
  const out = new BigUint64Array(1);
  check(lib().flipperStart(base, stride, count, a >>> 0, b >>> 0, out), 'pthread_create', 'flipper');
  let handle: bigint | undefined = out[0]!;
  return {
    stop(): number {
      if (handle === undefined) return 0;
      const rounds = new BigUint64Array(1);
      check(lib().flipperStop(handle, rounds), 'pthread_join', 'flipper');
      handle = undefined;
      return Number(rounds[0]!);
    },
  };
}

/**
 * Number of open fds of process `pid` (default: this one), from `/proc/<pid>/fd`; for leak checks.
 * For this process the directory handle used while listing is not counted.
 */
export function countOpenFds(pid: number = process.pid): number {
  const dir = `/proc/${pid}/fd`;
  const entries = readdirSync(dir);
  if (pid !== process.pid) return entries.length;
  let count = 0;
  for (const name of entries) {
    try {
      readlinkSync(`${dir}/${name}`);
      count++;
    } catch {
      // The listing's own directory fd, closed by the time we look at it.
    }
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// libFuzzer-ABI targets
// ---------------------------------------------------------------------------------------------

/** A shared library exposing the libFuzzer entry points, loaded into this process. */
export interface FuzzTarget {
  /** The library path it was loaded from. */
  readonly path: string;
  /** Calls `LLVMFuzzerTestOneInput(data, size)`; a crash in the target kills this process. */
  testOneInput(data: Uint8Array): number;
  /**
   * Calls `LLVMFuzzerInitialize(&argc, &argv)` with `argv` (default `[path]`), or returns
   * `undefined` when the target does not define it.
   */
  initialize(argv?: string[]): number | undefined;
  /** Unloads the library; idempotent. Further calls throw. */
  close(): void;
}

/**
 * dlopens a libFuzzer-ABI target and binds `int LLVMFuzzerTestOneInput(const uint8_t *, size_t)`
 * and the optional `int LLVMFuzzerInitialize(int *, char ***)`. Throws {@link NativeLoadError}
 * naming the path (and the symbol, when that is what is missing).
 */
export function loadFuzzTarget(libPath: string): FuzzTarget {
  let handle: ReturnType<typeof koffi.load>;
  try {
    handle = koffi.load(libPath);
  } catch (cause) {
    throw new NativeLoadError(`cannot load fuzz target ${libPath}: ${(cause as Error).message}`, libPath, undefined, { cause });
  }
  let testOne: KoffiFunc<(data: Uint8Array, size: number) => number>;
  try {
    testOne = handle.func('int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)');
  } catch (cause) {
    handle.unload();
    throw new NativeLoadError(
      `fuzz target ${libPath} does not export LLVMFuzzerTestOneInput`,
      libPath,
      'LLVMFuzzerTestOneInput',
      { cause },
    );
  }
  let init: KoffiFunc<(argc: Int32Array, argv: Buffer) => number> | undefined;
  try {
    // argv is passed as a raw pointer to a char** array that this module builds itself.
    init = handle.func('int LLVMFuzzerInitialize(int *argc, void *argv)');
  } catch {
    init = undefined;
  }
  let open = true;
  const ensureOpen = (): void => {
    if (!open) throw new NativeLoadError(`fuzz target ${libPath} is closed`, libPath);
  };
  return {
    path: libPath,
    testOneInput(data: Uint8Array): number {
      ensureOpen();
      return testOne(data, data.length);
    },
    initialize(argv: string[] = [libPath]): number | undefined {
      ensureOpen();
      if (init === undefined) return undefined;
      // SAFETY: Buffers live outside the V8 heap and never move; `strings`, `table` and `ref`
      // stay referenced until the call returns, so every pointer below is valid during it. The
      // target may keep argv pointers (libFuzzer does), so they are also pinned on the target.
      const strings = argv.map((s) => Buffer.from(`${s}\0`, 'utf8'));
      const table = Buffer.alloc(8 * (strings.length + 1)); // NULL-terminated char *argv[]
      strings.forEach((s, i) => table.writeBigUInt64LE(koffi.address(s), 8 * i));
      const ref = Buffer.alloc(8); // char ***: points at the table
      ref.writeBigUInt64LE(koffi.address(table), 0);
      const argc = Int32Array.of(strings.length);
      pinned.push(strings, table, ref, argc);
      return init(argc, ref);
    },
    close(): void {
      if (!open) return;
      open = false;
      handle.unload();
    },
  };
}

/** argv memory handed to fuzz targets, which may keep pointers to it for the process lifetime. */
const pinned: unknown[] = [];
