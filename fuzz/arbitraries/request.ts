/**
 * One front-end request, any of the table (STYLE §1: derived from `FRONTEND_REQUEST_TABLE`):
 * symbolic payload arguments from the family files, NEED_REPLY, and a {@link Mutation}. Encoding
 * resolves the symbols against the session model (memory layout, ring count, the back-end's
 * offer), adds the fds the request's fd rule asks for, applies the mutation and yields a
 * {@link FuzzStep}.
 * @module
 */
import fc from 'fast-check';
import type { MemoryRegion } from '../../fakes/wire/payloads/mem-region.js';
import type { PayloadCodec } from '../../fakes/wire/payloads/codec.js';
import type { RequestSpec } from '../../fakes/wire/requests.js';
import { describeMutation, applyMutation, mutation, type Mutation, type MutationConstraints } from './mutation.js';
import { featureWordArgs, resolveFeatureWord, type FeatureWordArgs } from './features.js';
import { memfdSizeFor, memoryLayout } from './memory-layout.js';
import { otherPayload } from './other-payloads.js';
import { flagsFor, replyExpectation, type SessionModel } from './session-model.js';
import type { FdSpec, FuzzStep } from './step.js';
import { resolveVringAddr, vringAddrArgs, type VringAddrArgs } from './vring-addr.js';
import { resolveVringFd, vringFdArgs, type VringFdArgs } from './vring-fd.js';
import { resolveVringState, vringStateArgs, type VringStateArgs, type VringStateRequest } from './vring-state.js';

/** Arguments of one request. */
export interface RequestArgs {
  /** Symbolic payload (shape depends on the family). */
  readonly payload: unknown;
  readonly needReply: boolean;
  readonly mutation: Mutation;
}

/** Options of {@link requestArgs}. */
export interface RequestConstraints extends MutationConstraints {
  /** Rings a valid ring reference may name (default 2). */
  readonly maxRings?: number;
  /** Regions of a generated memory table, 1..8 (default 3). */
  readonly maxRegions?: number;
  /** Valid payload values per subtly invalid one (default 3). */
  readonly validWeight?: number;
}

/** REM_MEM_REG names a region of the table in force, or brings its own. */
type RemArgs = { readonly pick: number } | { readonly region: MemoryRegion };

/** Symbolic payload of `spec`. */
export function payloadArgs(spec: RequestSpec, c: RequestConstraints = {}): fc.Arbitrary<unknown> {
  const validWeight = c.validWeight ?? 3;
  const maxRings = c.maxRings ?? 2;
  const maxRegions = c.maxRegions ?? 4;
  switch (spec.payload.family) {
    case 'u64':
      return spec.name === 'SET_FEATURES' || spec.name === 'SET_PROTOCOL_FEATURES'
        ? featureWordArgs({ validWeight })
        : otherPayload('u64', { validWeight });
    case 'vring-state':
      return vringStateArgs({ request: spec.name as VringStateRequest, maxRings, validWeight });
    case 'vring-fd':
      return vringFdArgs({ maxRings, validWeight });
    case 'vring-addr':
      return vringAddrArgs({ maxRings, maxRegions, validWeight });
    case 'memory-table':
      return memoryLayout({ maxRegions, validWeight: Math.max(1, validWeight - 2) }).map((regions) => ({ regions }));
    case 'mem-region':
      if (spec.name === 'REM_MEM_REG') {
        return fc.oneof(
          { weight: 4, arbitrary: fc.record({ pick: fc.nat(7) }) },
          { weight: 1, arbitrary: memoryLayout({ minRegions: 1, maxRegions: 1 }).map((r) => ({ region: r[0] })) },
        );
      }
      return memoryLayout({ minRegions: 1, maxRegions: 1, validWeight: Math.max(1, validWeight - 2) }).map((r) => ({ region: r[0] }));
    default:
      return otherPayload(spec.payload.family, { validWeight });
  }
}

/** Arguments of `spec`: payload, NEED_REPLY (mostly set, as QEMU does), mutation. */
export function requestArgs(spec: RequestSpec, c: RequestConstraints = {}): fc.Arbitrary<RequestArgs> {
  return fc.record({
    payload: payloadArgs(spec, c),
    // SET_PROTOCOL_FEATURES goes out without NEED_REPLY as QEMU sends it (D6); others mostly ask.
    needReply: spec.name === 'SET_PROTOCOL_FEATURES'
      ? fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 4, arbitrary: fc.constant(false) })
      : fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    mutation: mutation(c),
  });
}

/** The codec value and the fds of `spec` with `payload`, resolved against model `m`. */
export function resolveRequest(spec: RequestSpec, payload: unknown, m: SessionModel): { value: unknown; fds: FdSpec[] } {
  const rings = m.offer.rings;
  const ev: FdSpec = { kind: 'eventfd' };
  switch (spec.payload.family) {
    case 'u64':
      if (spec.name === 'SET_FEATURES') return { value: resolveFeatureWord(payload as FeatureWordArgs, m.offer.features), fds: [] };
      if (spec.name === 'SET_PROTOCOL_FEATURES') return { value: resolveFeatureWord(payload as FeatureWordArgs, m.offer.protocolFeatures), fds: [] };
      return { value: payload, fds: [] };
    case 'vring-state':
      return { value: resolveVringState(payload as VringStateArgs, rings), fds: [] };
    case 'vring-fd': {
      const v = resolveVringFd(payload as VringFdArgs, rings);
      return { value: v, fds: v.noFd ? [] : [ev] };
    }
    case 'vring-addr':
      return { value: resolveVringAddr(payload as VringAddrArgs, m.layout, rings), fds: [] };
    case 'memory-table': {
      const regions = (payload as { regions: MemoryRegion[] }).regions;
      return { value: { regions }, fds: regions.map((r) => ({ kind: 'memfd', size: memfdSizeFor(r) })) };
    }
    case 'mem-region': {
      const a = payload as RemArgs;
      const region = 'region' in a ? a.region : (m.layout[a.pick % Math.max(1, m.layout.length)] ?? { guestPhysAddr: 0n, memorySize: 0x1000n, userspaceAddr: 0n, mmapOffset: 0n });
      return { value: { region }, fds: spec.fds === 'one' ? [{ kind: 'memfd', size: memfdSizeFor(region) }] : [] };
    }
    default:
      break;
  }
  if (spec.fds === 'one') {
    const memfd = spec.name === 'SET_LOG_BASE' || spec.name === 'SET_INFLIGHT_FD';
    return { value: payload, fds: [memfd ? { kind: 'memfd', size: 0x10000 } : ev] };
  }
  return { value: payload, fds: [] };
}

/** The step `spec` with `args` becomes in a session modelled by `m`. */
export function buildStep(spec: RequestSpec, args: RequestArgs, m: SessionModel): FuzzStep {
  const { value, fds } = resolveRequest(spec, args.payload, m);
  const body = (spec.payload.codec as PayloadCodec<unknown>).encode(value);
  const { bytes, fdCount } = applyMutation({ request: spec.code, flags: flagsFor(args.needReply), body, fdCount: fds.length }, args.mutation);
  const outFds: FdSpec[] = fdCount <= fds.length ? fds.slice(0, fdCount) : [...fds, ...Array.from({ length: fdCount - fds.length }, () => ({ kind: 'eventfd' }) as const)];
  const mut = describeMutation(args.mutation);
  return {
    label: `${spec.name}${args.needReply ? '' : ' (no NEED_REPLY)'}${mut ? ` [${mut}]` : ''}`,
    request: spec.code,
    bytes,
    fds: outFds,
    reply: replyExpectation(m, spec, args.needReply, args.mutation.kind !== 'none'),
  };
}
