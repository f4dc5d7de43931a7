/**
 * Checks of the frames a back-end sends on the back-end channel (vhost-user.rst "Back-end
 * communication"; CHECKLIST VU-BE-002/003), from the request table's entries for back-end
 * requests: the header (version 1, not a reply, no reserved bits), NEED_REPLY only with REPLY_ACK,
 * fds only with BACKEND_SEND_FD (at most 8, and only on requests that carry one), a body size the
 * request allows, and the request's gate (the feature that makes it legal) negotiated.
 * @module
 */
import type { FrontendSession } from '../../fakes/frontend/index.js';
import {
  Direction, HEADER_RESERVED_FLAGS_MASK, HeaderFlag, ProtocolFeature, hasFeature, requestName, requestSpec, type RawMessage,
} from '../../fakes/wire/index.js';

/** What is wrong with one frame, by kind: `format` (VU-BE-002) or `gate` (VU-BE-003). */
export interface FrameProblem {
  readonly kind: 'format' | 'gate';
  readonly text: string;
}

/** Largest number of fds one message may carry. */
const MAX_FDS = 8;

/** The problems of `frame` given what `session` negotiated; empty when it is fine. */
export function backendFrameProblems(frame: RawMessage, session: Pick<FrontendSession, 'features' | 'protocolFeatures'>): FrameProblem[] {
  const out: FrameProblem[] = [];
  const format = (text: string): void => { out.push({ kind: 'format', text }); };
  const spec = requestSpec(frame.request, Direction.BACKEND_TO_FRONTEND);
  const name = spec?.name ?? `request ${frame.request}`;
  if (spec === undefined) format(`request code ${frame.request} is no back-end request`);
  if ((frame.flags & HeaderFlag.VERSION_MASK) !== HeaderFlag.VERSION) format(`${name}: version ${frame.flags & HeaderFlag.VERSION_MASK}, not 1`);
  if ((frame.flags & HeaderFlag.REPLY) !== 0) format(`${name}: the REPLY bit is set on a request`);
  if ((frame.flags & HEADER_RESERVED_FLAGS_MASK) !== 0) format(`${name}: reserved flag bits 0x${(frame.flags & HEADER_RESERVED_FLAGS_MASK).toString(16)} set`);
  const pf = session.protocolFeatures;
  if ((frame.flags & HeaderFlag.NEED_REPLY) !== 0 && !hasFeature(pf, ProtocolFeature.REPLY_ACK)) format(`${name}: NEED_REPLY without REPLY_ACK negotiated`);
  const fds = frame.fds.length;
  if (fds > 0) {
    if (!hasFeature(pf, ProtocolFeature.BACKEND_SEND_FD)) format(`${name}: ${fds} fd(s) attached without BACKEND_SEND_FD negotiated`);
    if (fds > MAX_FDS) format(`${name}: ${fds} fds attached (at most ${MAX_FDS})`);
    if (spec !== undefined && spec.fds === 'none') format(`${name}: ${fds} fd(s) attached to a request that carries none`);
  }
  if (spec !== undefined) {
    const { minSize, maxSize } = spec.payload.codec;
    if (frame.size < minSize || frame.size > maxSize) format(`${name}: a ${frame.size}-byte body (the request has ${minSize === maxSize ? minSize : `${minSize}..${maxSize}`})`);
    const g = spec.gate;
    if (g.protocolFeature !== undefined && !hasFeature(pf, ProtocolFeature[g.protocolFeature])) out.push({ kind: 'gate', text: `${name} sent without protocol feature ${g.protocolFeature} negotiated` });
    if (g.feature !== undefined && !hasFeature(session.features, g.feature)) out.push({ kind: 'gate', text: `${name} sent without feature ${g.featureName ?? g.feature} negotiated` });
  }
  return out;
}

/** A frame in one line, for failure texts. */
export const describeBackendFrame = (f: RawMessage): string =>
  `${requestName(f.request, Direction.BACKEND_TO_FRONTEND)} flags 0x${f.flags.toString(16)} size ${f.size} fds ${f.fds.length}`;
