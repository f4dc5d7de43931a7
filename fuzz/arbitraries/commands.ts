/**
 * Model-based commands of the protocol fuzzer (STYLE §30; fast-check `AsyncCommand`): one command
 * class per front-end request of the table, whose `check` is the request's protocol precondition
 * from the {@link SessionModel} (its gate), whose `run` builds the step, hands it to a
 * {@link StepSink} (the live connection) and updates the model, and whose `toString` is the spec
 * name. Two more commands cut the connection inside a message and send requests of no known code.
 * @module
 */
import fc from 'fast-check';
import { HEADER_SIZE, encodeHeader } from '../../fakes/wire/header.js';
import type { MemoryRegion } from '../../fakes/wire/payloads/mem-region.js';
import { FRONTEND_REQUESTS, requestSpec, type RequestSpec } from '../../fakes/wire/requests.js';
import { isValidLayout } from './memory-layout.js';
import { SETUP_REQUESTS } from './message-stream.js';
import { buildStep, requestArgs, resolveRequest, type RequestArgs, type RequestConstraints } from './request.js';
import { gateHolds, type SessionModel } from './session-model.js';
import type { FuzzStep } from './step.js';
import { checkInt } from './_internals/numbers.js';
import type { VringAddr } from '../../fakes/wire/payloads/vring-addr.js';
import type { VringFd } from '../../fakes/wire/payloads/vring-fd.js';
import type { VringState } from '../../fakes/wire/payloads/vring-state.js';

/**
 * A size lie that still announces at most this many payload bytes may leave a back-end waiting
 * for them; above it every back-end must refuse the frame (VU-MSG-005: 64 KiB is more than any
 * defined payload).
 */
export const DESYNC_LIMIT = 64 * 1024;

/** What the back-end did with a step. */
export type StepOutcome =
  | { readonly kind: 'sent' }
  /** The owed reply arrived (its body). */
  | { readonly kind: 'replied'; readonly body: Uint8Array }
  /** The connection is gone (cut by the step, or closed by the back-end). */
  | { readonly kind: 'closed'; readonly detail: string };

/** The live side of the commands: sends a step and reports what happened (it detects hangs). */
export interface StepSink {
  send(step: FuzzStep): Promise<StepOutcome>;
}

/** A protocol command. */
export type ProtocolCommand = fc.AsyncCommand<SessionModel, StepSink>;

const ackFailed = (o: StepOutcome): boolean =>
  o.kind === 'replied' && o.body.byteLength === 8 && new DataView(o.body.buffer, o.body.byteOffset, 8).getBigUint64(0, true) !== 0n;

/** Applies the effect of a request the back-end accepted to the model. */
function applyEffect(m: SessionModel, spec: RequestSpec, value: unknown): void {
  const ring = (i: number) => (i < m.rings.length ? m.rings[i] : undefined);
  switch (spec.name) {
    case 'SET_FEATURES': {
      const v = value as bigint;
      m.features = v;
      if ((v & ~m.offer.features) !== 0n) m.tainted = true;
      break;
    }
    case 'SET_PROTOCOL_FEATURES': {
      const v = value as bigint;
      m.protocolFeatures = v;
      if ((v & ~m.offer.protocolFeatures) !== 0n) m.tainted = true;
      break;
    }
    case 'SET_OWNER':
      m.owner = true;
      break;
    case 'RESET_OWNER':
    case 'RESET_DEVICE':
      // Reset semantics differ between back-ends (CHECKLIST D11): stop predicting.
      m.tainted = true;
      break;
    case 'SET_MEM_TABLE': {
      const regions = (value as { regions: MemoryRegion[] }).regions;
      m.layout = [...regions];
      if (!isValidLayout(regions)) m.tainted = true;
      break;
    }
    case 'ADD_MEM_REG': {
      const r = (value as { region: MemoryRegion }).region;
      m.layout = [...m.layout, r];
      if (!isValidLayout(m.layout)) m.tainted = true;
      break;
    }
    case 'REM_MEM_REG': {
      const r = (value as { region: MemoryRegion }).region;
      m.layout = m.layout.filter((x) => !(x.guestPhysAddr === r.guestPhysAddr && x.memorySize === r.memorySize));
      break;
    }
    case 'SET_VRING_NUM': {
      const s = value as VringState;
      const r = ring(s.index);
      if (r) r.num = s.num;
      break;
    }
    case 'SET_VRING_BASE': {
      const s = value as VringState;
      const r = ring(s.index);
      if (r) r.base = s.num;
      break;
    }
    case 'SET_VRING_ADDR': {
      const r = ring((value as VringAddr).index);
      if (r) r.addr = true;
      break;
    }
    case 'SET_VRING_KICK':
    case 'SET_VRING_CALL': {
      const f = value as VringFd;
      const r = ring(f.index);
      if (r) r[spec.name === 'SET_VRING_KICK' ? 'kick' : 'call'] = true;
      break;
    }
    case 'SET_VRING_ENABLE': {
      const s = value as VringState;
      const r = ring(s.index);
      if (r) r.enabled = s.num === 1;
      break;
    }
    default:
      break;
  }
}

/** Base of the per-request command classes. */
export abstract class RequestCommand implements ProtocolCommand {
  /** The request this command sends. */
  abstract readonly spec: RequestSpec;
  constructor(readonly args: RequestArgs) {}

  /** The protocol precondition: connection open and the request's gate satisfied. */
  check(m: Readonly<SessionModel>): boolean {
    return !m.closed && gateHolds(m as SessionModel, this.spec);
  }

  async run(m: SessionModel, sink: StepSink): Promise<void> {
    const step = buildStep(this.spec, this.args, m);
    const { value } = resolveRequest(this.spec, this.args.payload, m);
    m.sent++;
    const out = await sink.send(step);
    if (out.kind === 'closed') {
      m.closed = true;
      return;
    }
    if (this.args.mutation.kind === 'size-lie' && (step.bytes.byteLength - HEADER_SIZE) + this.args.mutation.delta <= DESYNC_LIMIT) m.desynced = true;
    if (this.args.mutation.kind !== 'none' || step.reply === 'maybe') {
      m.tainted = true;
      return;
    }
    if (ackFailed(out) && this.spec.reply !== 'always') {
      // A nack: the back-end refused, its state may differ from what we asked for.
      m.tainted = true;
      return;
    }
    applyEffect(m, this.spec, value);
  }

  /** The spec name (plus the mutation, when there is one). */
  toString(): string {
    const mut = this.args.mutation.kind === 'none' ? '' : `[${this.args.mutation.kind}]`;
    return `${this.spec.name}${mut}`;
  }
}

const CLASSES = new Map<string, new (args: RequestArgs) => RequestCommand>();

/** The command class of `spec` (one per request, built once from the table and named after it). */
export function commandClass(spec: RequestSpec): new (args: RequestArgs) => RequestCommand {
  let C = CLASSES.get(spec.name);
  if (C === undefined) {
    const theSpec = spec;
    C = class extends RequestCommand {
      readonly spec = theSpec;
    };
    Object.defineProperty(C, 'name', { value: `${spec.name}Command` });
    CLASSES.set(spec.name, C);
  }
  return C;
}

/** Disconnects inside a message: sends its first `cut` bytes (fds attached), then closes. */
export class CutInsideCommand implements ProtocolCommand {
  constructor(readonly inner: RequestCommand, readonly cutFraction: number) {}
  check(m: Readonly<SessionModel>): boolean {
    return this.inner.check(m);
  }
  /** Where the cut falls in a message of `length` bytes: 0..length-1. */
  cutPoint(length: number): number {
    return Math.min(length - 1, Math.floor(this.cutFraction * length));
  }
  async run(m: SessionModel, sink: StepSink): Promise<void> {
    const step = buildStep(this.inner.spec, this.inner.args, m);
    const cutAt = this.cutPoint(step.bytes.byteLength);
    m.sent++;
    await sink.send({ ...step, label: `${step.label} cut@${cutAt}`, reply: 'none', cutAt });
    m.closed = true;
  }
  toString(): string {
    return `cut(${this.inner.toString()}@${this.cutFraction.toFixed(2)})`;
  }
}

/** Sends a request code the table does not know (0, 46+, any u32) with a random body. */
export class UnknownRequestCommand implements ProtocolCommand {
  constructor(readonly code: number, readonly body: Uint8Array, readonly needReply: boolean) {}
  check(m: Readonly<SessionModel>): boolean {
    return !m.closed;
  }
  async run(m: SessionModel, sink: StepSink): Promise<void> {
    const bytes = new Uint8Array(HEADER_SIZE + this.body.byteLength);
    encodeHeader({ request: this.code, flags: this.needReply ? 0x9 : 0x1, size: this.body.byteLength }, bytes);
    bytes.set(this.body, HEADER_SIZE);
    m.sent++;
    const out = await sink.send({ label: `UNKNOWN_${this.code}`, request: this.code, bytes, fds: [], reply: 'maybe' });
    m.tainted = true;
    if (out.kind === 'closed') m.closed = true;
  }
  toString(): string {
    return `UNKNOWN_${this.code}`;
  }
}

/** Options of {@link protocolCommands}. */
export interface ProtocolCommandsConstraints extends RequestConstraints {
  /** Copies of each set-up request in the pool, so negotiation gets somewhere (default 4). */
  readonly setupWeight?: number;
  /** Include the cut-inside-a-message command (default true). */
  readonly cuts?: boolean;
  /** Include unknown request codes (default true). */
  readonly unknownRequests?: boolean;
  /** Requests to leave out (spec names), e.g. ones a peer is known to die on by design. */
  readonly exclude?: readonly string[];
}

/** The command pool for `fc.commands`: every front-end request of the table, plus cuts and unknown codes. */
export function protocolCommands(c: ProtocolCommandsConstraints = {}): fc.Arbitrary<ProtocolCommand>[] {
  const setupWeight = c.setupWeight ?? 4;
  checkInt('setupWeight', setupWeight, 1, 100);
  const specs = FRONTEND_REQUESTS.filter((s) => !(c.exclude ?? []).includes(s.name));
  const perRequest = specs.map((spec) => ({ spec, arb: requestArgs(spec, c).map((a): RequestCommand => new (commandClass(spec))(a)) }));
  const pool: fc.Arbitrary<ProtocolCommand>[] = [];
  for (const { spec, arb } of perRequest) {
    const copies = SETUP_REQUESTS.includes(spec.name) ? setupWeight : 1;
    for (let i = 0; i < copies; i++) pool.push(arb);
  }
  if (c.cuts ?? true) {
    const any = fc.oneof(...perRequest.map((p) => p.arb));
    pool.push(fc.tuple(any, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })).map(([inner, f]) => new CutInsideCommand(inner, f)));
  }
  if (c.unknownRequests ?? true) {
    const code = fc.oneof(fc.constant(0), fc.integer({ min: FRONTEND_REQUESTS.length + 1, max: 64 }), fc.integer({ min: 0, max: 0xffff_ffff })).filter((k) => requestSpec(k) === undefined);
    pool.push(fc.tuple(code, fc.uint8Array({ maxLength: 48 }), fc.boolean()).map(([k, b, nr]) => new UnknownRequestCommand(k, b, nr)));
  }
  return pool;
}
