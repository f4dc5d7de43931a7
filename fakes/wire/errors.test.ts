import { describe, expect, it } from 'vitest';
import {
  InactiveFeatureError,
  MalformedMessageError,
  PeerDisconnectedError,
  ProtocolError,
  TimeoutError,
  UnexpectedFdsError,
  UnexpectedReplyError,
  VhostUserError,
  isMalformedMessageError,
  isPeerDisconnectedError,
  isProtocolError,
  isTimeoutError,
  isVhostUserError,
} from './errors.js';

describe('errors', () => {
  it('carry stable codes and data', () => {
    const m = new MalformedMessageError('too short', { raw: new Uint8Array(2) });
    expect(m).toBeInstanceOf(ProtocolError);
    expect(m.code).toBe('VHU_ERR_MALFORMED');
    expect(m.reason).toBe('too short');
    expect(m.raw).toHaveLength(2);
    const f = new UnexpectedFdsError('SET_VRING_KICK', '1', 0);
    expect([f.code, f.request, f.expected, f.got]).toEqual(['VHU_ERR_UNEXPECTED_FDS', 'SET_VRING_KICK', '1', 0]);
    expect(new InactiveFeatureError('REPLY_ACK').code).toBe('VHU_ERR_INACTIVE_FEATURE');
    const r = new UnexpectedReplyError('GET_FEATURES', ['GET_FEATURES reply'], 'EOF');
    expect(r.expected).toEqual(['GET_FEATURES reply']);
    expect(r).toBeInstanceOf(ProtocolError);
    const d = new PeerDisconnectedError(undefined, { request: 'GET_VRING_BASE' });
    expect([d.code, d.request]).toEqual(['VHU_ERR_PEER_DISCONNECTED', 'GET_VRING_BASE']);
    expect(isProtocolError(d)).toBe(false);
    const t = new TimeoutError(undefined, { timeoutMs: 200, request: 'GET_FEATURES' });
    expect([t.code, t.timeoutMs, t.request]).toEqual(['VHU_ERR_TIMEOUT', 200, 'GET_FEATURES']);
    expect(t.message).toMatch(/200 ms/);
  });

  it('guards discriminate', () => {
    const m = new MalformedMessageError('x');
    expect(isMalformedMessageError(m)).toBe(true);
    expect(isVhostUserError(m)).toBe(true);
    expect(isTimeoutError(m)).toBe(false);
    expect(isPeerDisconnectedError(new PeerDisconnectedError())).toBe(true);
    expect(isVhostUserError(new Error('x'))).toBe(false);
  });

  it('from() keeps VhostUserErrors and wraps anything else with a cause', () => {
    const m = new MalformedMessageError('x');
    expect(VhostUserError.from(m)).toBe(m);
    const e = new TypeError('boom');
    const w = VhostUserError.from(e);
    expect(w.code).toBe('VHU_ERR_UNKNOWN');
    expect(w.cause).toBe(e);
    expect(w.message).toBe('boom');
    expect(VhostUserError.from(42n).message).toMatch(/42n/);
    const c = new TimeoutError('no peer', { timeoutMs: 5, cause: e, detail: 'listener /tmp/s' });
    expect(c.message).toBe('no peer: listener /tmp/s');
    expect(new PeerDisconnectedError('closed', { request: 'X' }).message).toBe('closed');
    expect(c.cause).toBe(e);
  });
});
