/**
 * A protocol reproducer's content (kind `protocol` of `vhostlab.repro/v1`): the steps as recorded
 * — byte lengths, fds, reply expectation, cut point — in `params.steps`, and all their bytes back
 * to back in `input` (so the bytes are authoritative and a replay sends exactly them), plus the
 * human message list. Also the back-end's offer the run started from.
 * @module
 */
import { HEADER_SIZE, decodeHeader } from '../../fakes/wire/header.js';
import { describeMessage } from '../../fakes/wire/message.js';
import { requestName } from '../../fakes/wire/requests.js';
import type { FdSpec, FuzzStep, ReplyExpectation } from '../arbitraries/step.js';
import type { ReproMessage } from '../replay/index.js';

/** One step as stored in `params.steps` (its bytes are the next `length` bytes of the input). */
export interface StoredStep {
  readonly label: string;
  readonly request: number;
  readonly length: number;
  readonly fds: readonly FdSpec[];
  readonly reply: ReplyExpectation;
  readonly cutAt?: number;
}

/** Splits steps into the stored form and the concatenated bytes. */
export function packSteps(steps: readonly FuzzStep[]): { stored: StoredStep[]; bytes: Uint8Array } {
  const total = steps.reduce((n, s) => n + s.bytes.byteLength, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  const stored = steps.map((s) => {
    bytes.set(s.bytes, at);
    at += s.bytes.byteLength;
    return { label: s.label, request: s.request, length: s.bytes.byteLength, fds: s.fds, reply: s.reply, ...(s.cutAt !== undefined ? { cutAt: s.cutAt } : {}) };
  });
  return { stored, bytes };
}

/** Joins stored steps and bytes back into steps. Throws RangeError when they do not add up. */
export function unpackSteps(stored: readonly StoredStep[], bytes: Uint8Array): FuzzStep[] {
  let at = 0;
  const steps = stored.map((s) => {
    if (!Number.isInteger(s.length) || s.length < 0 || at + s.length > bytes.byteLength) throw new RangeError(`step "${s.label}" needs ${s.length} bytes at ${at}, the input has ${bytes.byteLength}`);
    const step: FuzzStep = { label: s.label, request: s.request, bytes: bytes.slice(at, at + s.length), fds: s.fds, reply: s.reply, ...(s.cutAt !== undefined ? { cutAt: s.cutAt } : {}) };
    at += s.length;
    return step;
  });
  if (at !== bytes.byteLength) throw new RangeError(`the steps use ${at} of the input's ${bytes.byteLength} bytes`);
  return steps;
}

/** The human message list of a reproducer. */
export function describeSteps(steps: readonly FuzzStep[]): ReproMessage[] {
  return steps.map((s) => {
    const h = s.bytes.byteLength >= HEADER_SIZE ? decodeHeader(s.bytes) : { request: s.request, flags: 0, size: 0 };
    const detail = describeMessage({ ...h, body: s.bytes.subarray(HEADER_SIZE), fds: s.fds.map(() => -1) });
    const extra = [s.fds.length ? `fds: ${s.fds.map((f) => (f.kind === 'memfd' ? `memfd(${f.size})` : 'eventfd')).join(',')}` : '', `reply: ${s.reply}`, s.cutAt !== undefined ? `cut after ${s.cutAt} bytes` : ''].filter(Boolean).join('; ');
    return { request: requestName(h.request), code: h.request, flags: h.flags, size: h.size, detail: `${detail} (${extra})` };
  });
}
