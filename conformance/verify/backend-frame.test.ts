import { describe, expect, it } from 'vitest';
import { BackendRequest, ProtocolFeature, VirtioFeature, featureMask, payloads, type RawMessage } from '../../fakes/wire/index.js';
import { backendFrameProblems } from './backend-frame.js';

const iotlbMiss = (flags = 0x1, fds: number[] = []): RawMessage => {
  const body = payloads.iotlb.encode({ type: 1, iova: 0x1000n, size: 0n, uaddr: 0n, perm: 3 });
  return { request: BackendRequest.BACKEND_IOTLB_MSG, flags, size: body.byteLength, body, fds };
};
const negotiated = {
  features: featureMask(VirtioFeature.VERSION_1, VirtioFeature.ACCESS_PLATFORM),
  protocolFeatures: featureMask(ProtocolFeature.BACKEND_REQ, ProtocolFeature.REPLY_ACK),
};
const kinds = (m: RawMessage, s = negotiated): string[] => backendFrameProblems(m, s).map((p) => `${p.kind}: ${p.text}`);

describe('backend channel frame checks', () => {
  it('accept a well-formed IOTLB miss with its feature negotiated', () => {
    expect(kinds(iotlbMiss())).toEqual([]);
    expect(kinds(iotlbMiss(0x9))).toEqual([]);
  });

  it('name each format problem', () => {
    expect(kinds(iotlbMiss(0x0))).toEqual(['format: BACKEND_IOTLB_MSG: version 0, not 1']);
    expect(kinds(iotlbMiss(0x5))).toEqual(['format: BACKEND_IOTLB_MSG: the REPLY bit is set on a request']);
    expect(kinds(iotlbMiss(0x11))[0]).toMatch(/reserved flag bits 0x10/);
    expect(kinds(iotlbMiss(0x9), { ...negotiated, protocolFeatures: featureMask(ProtocolFeature.BACKEND_REQ) })).toEqual(['format: BACKEND_IOTLB_MSG: NEED_REPLY without REPLY_ACK negotiated']);
    const withFd = kinds(iotlbMiss(0x1, [7]));
    expect(withFd).toContain('format: BACKEND_IOTLB_MSG: 1 fd(s) attached without BACKEND_SEND_FD negotiated');
    expect(withFd).toContain('format: BACKEND_IOTLB_MSG: 1 fd(s) attached to a request that carries none');
    const short = { ...iotlbMiss(), size: 8, body: new Uint8Array(8) };
    expect(kinds(short)).toEqual(['format: BACKEND_IOTLB_MSG: a 8-byte body (the request has 32)']);
    expect(kinds({ request: 99, flags: 1, size: 0, body: new Uint8Array(0), fds: [] })).toEqual(['format: request code 99 is no back-end request']);
  });

  it('flag requests whose feature was not negotiated', () => {
    expect(kinds(iotlbMiss(), { ...negotiated, features: featureMask(VirtioFeature.VERSION_1) })).toEqual(['gate: BACKEND_IOTLB_MSG sent without feature ACCESS_PLATFORM negotiated']);
    const change: RawMessage = { request: BackendRequest.BACKEND_CONFIG_CHANGE_MSG, flags: 1, size: 0, body: new Uint8Array(0), fds: [] };
    expect(kinds(change)).toEqual(['gate: BACKEND_CONFIG_CHANGE_MSG sent without protocol feature CONFIG negotiated']);
  });
});
