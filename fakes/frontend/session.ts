/**
 * The QEMU-side front-end (master) of one vhost-user connection: typed requests, replies checked
 * the way QEMU checks them (flags exactly 0x5, request echoed, size of the defined body), and
 * REPLY_ACK handled in one place. Every wait has a time-out; a peer that closes, hangs or answers
 * nonsense yields a typed error that names the request.
 *
 * The start sequence of CHECKLIST §2.3 lives in `start.ts`; this file is the message layer.
 * @module
 */
import {
  FrontendRequest, ProtocolFeature, REPLY_FLAGS, UnexpectedReplyError, VhostUserError,
  describeMessage, hasFeature, makeFlags, requestName, u64, vringAddr, vringFd, vringState,
  type RawMessage, type VringAddr,
} from '../wire/index.js';
import { Connection, type ConnectionOptions, Listener } from '../transport/index.js';
import { closeFd } from '../../native/index.js';

/** A request the back-end answered with a non-zero REPLY_ACK status. */
export class RequestFailedError extends VhostUserError {
  constructor(readonly request: string, readonly status: bigint) {
    super('VHU_ERR_REQUEST_FAILED', `${request} failed: the back-end acked with status ${status}`);
  }
}

/** One line of a session trace (the evidence attached to conformance verdicts). */
export interface TraceEntry {
  /** Milliseconds since the session started. */
  at: number;
  dir: 'sent' | 'received';
  message: string;
}

/** Options of a {@link FrontendSession}. */
export interface SessionOptions extends ConnectionOptions {
  /** Time-out of each reply (default 5000 ms). */
  replyTimeoutMs?: number;
  /** Keep the last N messages as a trace (default 200; 0 turns tracing off). */
  traceLimit?: number;
}

/** A front-end session over one connection. */
export class FrontendSession {
  /** Protocol features in force (after SET_PROTOCOL_FEATURES). */
  protocolFeatures = 0n;
  /** Virtio features in force (after SET_FEATURES). */
  features = 0n;
  readonly replyTimeoutMs: number;
  private readonly trace: TraceEntry[] = [];
  private readonly traceLimit: number;
  private readonly started = Date.now();

  constructor(readonly connection: Connection, options: SessionOptions = {}) {
    this.replyTimeoutMs = options.replyTimeoutMs ?? 5000;
    this.traceLimit = options.traceLimit ?? 200;
  }

  /** Connects to a back-end that listens on `path` (retrying while it starts). */
  static async connect(path: string, options: SessionOptions & { connectTimeoutMs?: number } = {}): Promise<FrontendSession> {
    return new FrontendSession(await Connection.connect(path, options.connectTimeoutMs ?? 10_000, options), options);
  }

  /** Waits for a back-end in client mode to connect to `listener`. */
  static async accept(listener: Listener, options: SessionOptions & { acceptTimeoutMs?: number } = {}): Promise<FrontendSession> {
    return new FrontendSession(await listener.accept(options.acceptTimeoutMs ?? 10_000, options), options);
  }

  /** The recent messages of this session, oldest first. */
  get messages(): readonly TraceEntry[] {
    return this.trace;
  }

  /** Whether REPLY_ACK is in force, so ack-type requests can carry NEED_REPLY. */
  get replyAck(): boolean {
    return hasFeature(this.protocolFeatures, ProtocolFeature.REPLY_ACK);
  }

  /** Sends a raw message (possibly malformed on purpose) and records it. */
  sendRaw(msg: RawMessage): void {
    this.record('sent', msg);
    this.connection.send(msg);
  }

  /** Receives the next message, recording it. */
  async receiveRaw(timeoutMs = this.replyTimeoutMs, awaiting?: number): Promise<RawMessage> {
    const msg = await this.connection.receive(timeoutMs, awaiting);
    this.record('received', msg);
    return msg;
  }

  /**
   * Sends a request whose reply is always defined and returns the reply, checked as QEMU checks
   * it. OWNERSHIP: fds in the reply belong to the caller.
   */
  async call(request: number, body: Uint8Array = new Uint8Array(0), expectedSize?: number, fds: number[] = []): Promise<RawMessage> {
    this.sendRaw(requestMessage(request, body, fds, false));
    const reply = await this.receiveRaw(this.replyTimeoutMs, request);
    this.checkReply(request, reply, expectedSize);
    return reply;
  }

  /**
   * Sends a request that is acked only under REPLY_ACK. With REPLY_ACK in force it asks for the ack
   * and throws {@link RequestFailedError} on a non-zero status; without it, it returns at once.
   */
  async command(request: number, body: Uint8Array = new Uint8Array(0), fds: number[] = []): Promise<void> {
    const needReply = this.replyAck;
    this.sendRaw(requestMessage(request, body, fds, needReply));
    if (!needReply) return;
    const status = await this.readAck(request);
    if (status !== 0n) throw new RequestFailedError(requestName(request), status);
  }

  /** Reads the u64 REPLY_ACK status for `request`. */
  async readAck(request: number): Promise<bigint> {
    const reply = await this.receiveRaw(this.replyTimeoutMs, request);
    this.checkReply(request, reply, 8);
    return u64.decode(reply.body);
  }

  /** GET_FEATURES. */
  async getFeatures(): Promise<bigint> {
    return u64.decode((await this.call(FrontendRequest.GET_FEATURES, undefined, 8)).body);
  }

  /** SET_FEATURES; remembers the value. */
  async setFeatures(features: bigint): Promise<void> {
    await this.command(FrontendRequest.SET_FEATURES, u64.encode(features));
    this.features = features;
  }

  /** GET_PROTOCOL_FEATURES. */
  async getProtocolFeatures(): Promise<bigint> {
    return u64.decode((await this.call(FrontendRequest.GET_PROTOCOL_FEATURES, undefined, 8)).body);
  }

  /**
   * SET_PROTOCOL_FEATURES. The ack question is settled before the message goes out (CHECKLIST D6:
   * whether an ack is owed for the message that negotiates REPLY_ACK is unstated), so no
   * NEED_REPLY is set on it, as QEMU does.
   */
  async setProtocolFeatures(features: bigint): Promise<void> {
    this.sendRaw(requestMessage(FrontendRequest.SET_PROTOCOL_FEATURES, u64.encode(features), [], false));
    this.protocolFeatures = features;
  }

  /** GET_QUEUE_NUM (needs MQ). */
  async getQueueNum(): Promise<bigint> {
    return u64.decode((await this.call(FrontendRequest.GET_QUEUE_NUM, undefined, 8)).body);
  }

  /** GET_MAX_MEM_SLOTS (needs CONFIGURE_MEM_SLOTS). */
  async getMaxMemSlots(): Promise<bigint> {
    return u64.decode((await this.call(FrontendRequest.GET_MAX_MEM_SLOTS, undefined, 8)).body);
  }

  /** SET_OWNER. */
  async setOwner(): Promise<void> {
    await this.command(FrontendRequest.SET_OWNER);
  }

  /** SET_VRING_NUM. */
  async setVringNum(index: number, num: number): Promise<void> {
    await this.command(FrontendRequest.SET_VRING_NUM, vringState.encode({ index, num }));
  }

  /** SET_VRING_BASE. */
  async setVringBase(index: number, num: number): Promise<void> {
    await this.command(FrontendRequest.SET_VRING_BASE, vringState.encode({ index, num }));
  }

  /** SET_VRING_ADDR with front-end user addresses (QVAs). */
  async setVringAddr(addr: VringAddr): Promise<void> {
    await this.command(FrontendRequest.SET_VRING_ADDR, vringAddr.encode(addr));
  }

  /** SET_VRING_KICK / CALL / ERR with an fd, or with the no-fd flag when `fd` is undefined. */
  async setVringFd(request: number, index: number, fd: number | undefined): Promise<void> {
    await this.command(request, vringFd.encode({ index, noFd: fd === undefined, upper: 0n }), fd === undefined ? [] : [fd]);
  }

  /** SET_VRING_ENABLE. */
  async setVringEnable(index: number, enable: boolean): Promise<void> {
    await this.command(FrontendRequest.SET_VRING_ENABLE, vringState.encode({ index, num: enable ? 1 : 0 }));
  }

  /** GET_VRING_BASE: stops the ring and returns the next available index it would consume. */
  async getVringBase(index: number): Promise<number> {
    const reply = await this.call(FrontendRequest.GET_VRING_BASE, vringState.encode({ index, num: 0 }), 8);
    const state = vringState.decode(reply.body);
    if (state.index !== index) {
      throw new UnexpectedReplyError(requestName(FrontendRequest.GET_VRING_BASE),
        [`ring index ${index}`], `ring index ${state.index}`);
    }
    return state.num;
  }

  /** Closes the connection and every fd still held by it. */
  close(): void {
    this.connection.close();
  }

  private checkReply(request: number, reply: RawMessage, expectedSize?: number): void {
    const name = requestName(request);
    const problems: string[] = [];
    if (reply.flags !== REPLY_FLAGS) problems.push(`flags 0x${reply.flags.toString(16)} (want exactly 0x${REPLY_FLAGS.toString(16)})`);
    if (reply.request !== request) problems.push(`request ${requestName(reply.request)}`);
    if (expectedSize !== undefined && reply.size !== expectedSize) problems.push(`size ${reply.size} (want ${expectedSize})`);
    if (problems.length > 0) {
      for (const fd of reply.fds) closeFd(fd);
      throw new UnexpectedReplyError(name, [`a reply to ${name}: flags 0x5, request ${request}${expectedSize !== undefined ? `, size ${expectedSize}` : ''}`],
        `${describeMessage(reply)}: ${problems.join('; ')}`);
    }
  }

  private record(dir: TraceEntry['dir'], msg: RawMessage): void {
    if (this.traceLimit === 0) return;
    if (this.trace.length >= this.traceLimit) this.trace.shift();
    this.trace.push({ at: Date.now() - this.started, dir, message: describeMessage(msg) });
  }
}

/** A well-formed request header around `body` (version 1, NEED_REPLY when asked). */
function requestMessage(request: number, body: Uint8Array, fds: number[], needReply: boolean): RawMessage {
  return { request, flags: makeFlags({ needReply }), size: body.byteLength, body, fds };
}
