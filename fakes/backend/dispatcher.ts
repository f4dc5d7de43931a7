/**
 * The reference back-end's message dispatcher, derived from the request table in `fakes/wire`
 * (STYLE §1, §10; DPDK `vhost_user_msg_handler`, rust-vmm `backend_req_handler`).
 *
 * SECURITY MODEL. The front-end is untrusted: every header field, payload field and fd count is
 * validated before use, and the request table — not the handler — decides how many fds a
 * message may carry. Every fd that arrives is either taken by a handler that stores it or closed
 * by the dispatcher, on every path, including every error path (VU-MSG-010/011, CVE-2019-14818,
 * CVE-2022-0669). A malformed message is answered with a failure (a non-zero REPLY_ACK, or the
 * error form of an always-reply) or with a closed connection, never with a crash or a hang: a
 * handler that throws is caught and answered as a failure, and a request that owes a reply but
 * cannot produce one closes the connection rather than leave the front-end waiting.
 *
 * Generic steps, once per message, in order:
 *   1. `pre` hook (continue / replace / drop / close);
 *   2. header: version bits must be 1, REPLY must be clear on a request (VU-MSG-008);
 *   3. request code: unknown codes are refused (VU-MSG-007);
 *   4. fd policy: more than 8 fds, or fds on a request that takes none, are closed (VU-MSG-010/011);
 *   5. size against the payload codec (VU-MSG-005/006);
 *   6. feature gate: the protocol feature / bit 30 / virtio bit / device type the table names (VU-PF-002);
 *   7. decode and syntax `validate`;
 *   8. exact fd count per the fd rule, from the decoded payload (VU-MEM-001, VU-FD-004/005);
 *   9. handler → `ok | reply | error | notHandled`;
 *  10. `post` hook;
 *  11. reply or REPLY_ACK — owned here: an always-reply request gets exactly one reply whatever
 *      NEED_REPLY says (VU-MSG-009); an ack-type request gets a u64 ack only with REPLY_ACK in
 *      force and NEED_REPLY set, 0 on success and 1 on failure (VU-PF-003). REPLY_ACK is judged
 *      after the handler, so SET_PROTOCOL_FEATURES that turns it on acks itself (VU-PF-005, D6).
 *      Every reply carries flags exactly 0x5 (VU-MSG-001) and echoes the request code (MSG-002).
 * @module
 */
import {
  Direction, HEADER_RESERVED_FLAGS_MASK, MAX_FDS, MalformedMessageError, REPLY_FLAGS, ProtocolFeature,
  VHOST_USER_F_PROTOCOL_FEATURES, describeMessage, expectedFdCount, fdRuleText, frontendRequestName, hasFeature,
  hasValidVersion, isReply, needsReply, payloads, requestSpec, type FrontendRequestName, type RawMessage, type RequestSpec,
} from '../wire/index.js';
import type { Device } from './device.js';
import { FdBag } from './fd-bag.js';
import { HANDLERS, type Handler, type HandlerContext } from './handlers/index.js';
import type { BackendHooks } from './hooks.js';
import { fail, type HandlerResult } from './result.js';
import type { RingControl } from './ring-control.js';
import type { SessionState } from './session-state.js';

/** What the serving loop must do after a message. */
export interface DispatchOutcome {
  /** Close the connection, with the reason. */
  readonly close?: string;
}

/** Sends one frame; returns false when the peer is gone. */
export type FrameSender = (frame: RawMessage) => boolean;

/** Dispatches the messages of one session. */
export class Dispatcher {
  constructor(
    private readonly state: SessionState,
    private readonly device: Device,
    private readonly rings: RingControl,
    private readonly send: FrameSender,
    private readonly hooks: BackendHooks = {},
  ) {}

  /**
   * Handles one raw message. OWNERSHIP: takes every fd in `raw.fds` (stored by a handler or
   * closed here). Never throws for anything the front-end sent.
   */
  handle(raw: RawMessage): DispatchOutcome {
    let msg = raw;
    const decision = this.hooks.pre?.(raw, this.state);
    if (decision !== undefined && decision.action !== 'continue') {
      if (decision.action === 'close') {
        new FdBag(raw.fds).closeRest();
        return { close: decision.reason };
      }
      if (decision.action === 'drop') {
        new FdBag(raw.fds).closeRest();
        return {};
      }
      const keep = new Set(decision.message.fds);
      new FdBag(raw.fds.filter((fd) => !keep.has(fd))).closeRest();
      msg = decision.message;
    }
    const bag = new FdBag(msg.fds);
    const spec = requestSpec(msg.request, Direction.FRONTEND_TO_BACKEND);
    let result: HandlerResult;
    try {
      result = this.run(msg, spec, bag);
    } catch (e) {
      // A handler bug must not take the back-end down: answer as a failure.
      result = fail(`internal error handling ${frontendRequestName(msg.request)}: ${e instanceof Error ? e.message : String(e)}`);
      this.state.event('handler-exception', { detail: (e as Error)?.stack ?? String(e) });
    }
    result = this.hooks.post?.(msg, result, this.state) ?? result;
    const stray = bag.closeRest();
    if (stray > 0 && result.kind !== 'error') this.state.event('fds-closed', { detail: `${stray} unused fd(s) of ${frontendRequestName(msg.request)} closed` });
    return this.answer(msg, spec, result);
  }

  /** Steps 2–9. */
  private run(msg: RawMessage, spec: RequestSpec | undefined, bag: FdBag): HandlerResult {
    const name = frontendRequestName(msg.request);
    if (!hasValidVersion(msg)) return fail(`${name}: header version ${msg.flags & 3} is not 1`, { rule: 'VU-MSG-008' });
    if (isReply(msg)) return fail(`${name}: REPLY flag set on a request`, { rule: 'VU-MSG-001' });
    if (((msg.flags & HEADER_RESERVED_FLAGS_MASK) >>> 0) !== 0) {
      this.state.event('reserved-flags', { detail: `${name} flags 0x${(msg.flags >>> 0).toString(16)}: bits 4-31 ignored` });
    }
    if (spec === undefined) return fail(`unknown request code ${msg.request}`, { rule: 'VU-MSG-007' });
    if (bag.count > MAX_FDS) return fail(`${name} carries ${bag.count} fds, more than ${MAX_FDS}`, { rule: 'VU-MSG-011' });
    if (spec.fds === 'none' && bag.count > 0) {
      // Tolerated (REM_MEM_REG may carry one, VU-MEM-013) but never used: closed at the end.
      this.state.event('stray-fds', { detail: `${name} takes no fd but carried ${bag.count}; closing them` });
    }
    const codec = spec.payload.codec;
    if (msg.body.byteLength !== msg.size) return fail(`${name}: header size ${msg.size} but ${msg.body.byteLength} body bytes`, { rule: 'VU-MSG-005' });
    if (msg.size < codec.minSize || msg.size > codec.maxSize) {
      const range = codec.minSize === codec.maxSize ? `${codec.minSize}` : `${codec.minSize}..${codec.maxSize}`;
      return fail(`${name}: payload of ${msg.size} bytes, ${codec.family} needs ${range}`, { rule: msg.size > codec.maxSize ? 'VU-MSG-005' : 'VU-MSG-006' });
    }
    const gate = this.gate(spec);
    if (gate !== undefined) return fail(`${name} needs ${gate}, not negotiated`, { rule: 'VU-PF-002' });
    let payload: unknown;
    try {
      payload = codec.decode(msg.body);
    } catch (e) {
      return fail(`${name}: ${e instanceof MalformedMessageError ? e.reason : String(e)}`, { rule: 'VU-MSG-006' });
    }
    const invalid = (codec.validate as (v: unknown) => string | undefined)(payload);
    if (invalid !== undefined) return fail(`${name}: ${invalid}`, { rule: spec.fds === 'optionalNoFd' ? 'VU-FD-006' : 'VU-MSG-006' });
    if (spec.fds !== 'none') {
      const want = expectedFdCount(spec, payload);
      if (bag.count !== want) {
        const rule = spec.fds === 'perRegion' ? 'VU-MEM-001' : spec.fds === 'optionalNoFd' ? (bag.count > want ? 'VU-FD-004' : 'VU-FD-005') : 'VU-MSG-011';
        return fail(`${name}: expected ${fdRuleText(spec, payload)} fd(s), got ${bag.count}`, { rule });
      }
    }
    const handler = HANDLERS[spec.name as FrontendRequestName] as Handler<unknown> | undefined;
    if (handler === undefined) return { kind: 'notHandled' };
    const ctx: HandlerContext = { state: this.state, device: this.device, fds: bag, rings: this.rings };
    return handler(payload, ctx);
  }

  /** Step 6: what is missing, or undefined when the request may be used now. */
  private gate(spec: RequestSpec): string | undefined {
    const g = spec.gate;
    const s = this.state;
    if (g.protocolFeaturesBit === 'PF30') {
      // Before any SET_FEATURES a "negotiated" gate is judged on the offer: QEMU 7.2 sends
      // SET_VRING_ENABLE while it attaches the net peer, before SET_FEATURES (its check reads the
      // back-end's offered features), and DPDK's back-end accepts it; refusing would leave
      // QEMU's rings disabled. After a SET_FEATURES without bit 30 the request is refused.
      const offered = hasFeature(s.offeredFeatures, VHOST_USER_F_PROTOCOL_FEATURES);
      const have = g.stage === 'offered' || !s.featuresSet ? offered : s.hasFeature(VHOST_USER_F_PROTOCOL_FEATURES);
      if (!have) return 'PROTOCOL_FEATURES (bit 30)';
    }
    if (g.protocolFeature !== undefined && !s.hasProtocolFeature(ProtocolFeature[g.protocolFeature])) return g.protocolFeature;
    if (g.excludesProtocolFeature !== undefined && s.hasProtocolFeature(ProtocolFeature[g.excludesProtocolFeature])) {
      return `${g.excludesProtocolFeature} not to be negotiated`;
    }
    if (g.feature !== undefined && !s.hasFeature(g.feature)) return g.featureName ?? `feature bit ${g.feature}`;
    if (g.deviceType !== undefined && g.deviceType !== this.device.type) return `a ${g.deviceType} device`;
    return undefined;
  }

  /** Step 11. */
  private answer(msg: RawMessage, spec: RequestSpec | undefined, result: HandlerResult): DispatchOutcome {
    const name = frontendRequestName(msg.request);
    const wantsAck = needsReply(msg) && this.state.replyAck;
    const always = spec !== undefined && (spec.reply === 'always' ||
      (spec.reply === 'ackOrAlways' && spec.alwaysReplyWhen !== undefined && this.state.hasProtocolFeature(ProtocolFeature[spec.alwaysReplyWhen])));
    if (result.kind === 'error' || result.kind === 'notHandled') {
      const reason = result.kind === 'error' ? result.reason : `${name} is not implemented by this back-end`;
      const rule = result.kind === 'error' ? result.rule : undefined;
      this.state.event('refused', { detail: reason, ...(rule === undefined ? {} : { rule }) });
      if (result.kind === 'error' && result.close) return { close: reason };
      if (always) {
        if (result.kind === 'error' && result.errorBody !== undefined) return this.emit(msg, result.errorBody, []);
        if (spec.refusalReply !== undefined) return this.emit(msg, payloads.u64.encode(spec.refusalReply), []);
        // No error form exists: a u64 failure if the front-end asked for acks, else close so it never waits.
        if (wantsAck) return this.emit(msg, payloads.u64.encode(1n), []);
        return { close: reason };
      }
      if (wantsAck) return this.emit(msg, payloads.u64.encode(1n), []);
      return {};
    }
    if (result.kind === 'reply') return this.emit(msg, result.body, result.fds);
    if (always) {
      // A handler bug: an always-reply request must produce a body.
      return { close: `${name}: no reply body produced` };
    }
    if (wantsAck) return this.emit(msg, payloads.u64.encode(0n), []);
    return {};
  }

  private emit(msg: RawMessage, body: Uint8Array, fds: readonly number[]): DispatchOutcome {
    let frame: RawMessage | null = { request: msg.request, flags: REPLY_FLAGS, size: body.byteLength, body, fds: [...fds] };
    const hooked = this.hooks.reply?.(frame, msg, this.state);
    if (hooked !== undefined) frame = hooked;
    const sent = frame === null ? true : this.send(frame);
    // OWNERSHIP: fds sent with a reply were duplicated by the kernel; ours are closed now.
    new FdBag(fds).closeRest();
    if (!sent) return { close: `sending the reply to ${frontendRequestName(msg.request)} failed` };
    return {};
  }
}

/** Short form of a message for logs (re-exported for the serving loop). */
export const describeRequest = (raw: RawMessage): string => describeMessage(raw, Direction.FRONTEND_TO_BACKEND);
