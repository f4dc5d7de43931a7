import { describe, expect, it } from 'vitest';
import { ProtocolFeature } from './features.js';
import {
  BACKEND_REQUESTS,
  BACKEND_REQUEST_TABLE,
  BackendRequest,
  Direction,
  FRONTEND_REQUESTS,
  FRONTEND_REQUEST_TABLE,
  FrontendRequest,
  backendRequestName,
  expectedFdCount,
  frontendRequestName,
  requestSpec,
  requestSpecByName,
} from './requests.js';

describe('request table: completeness', () => {
  it('has every front-end code 1–45 and back-end code 1–12, keyed by code', () => {
    expect(FRONTEND_REQUESTS.map((s) => s.code)).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
    expect(BACKEND_REQUESTS.map((s) => s.code)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const [k, s] of Object.entries(FRONTEND_REQUEST_TABLE)) expect(Number(k)).toBe(s.code);
    for (const [k, s] of Object.entries(BACKEND_REQUEST_TABLE)) expect(Number(k)).toBe(s.code);
  });

  it('names are unique across both directions and match the code objects', () => {
    const names = [...FRONTEND_REQUESTS, ...BACKEND_REQUESTS].map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const s of FRONTEND_REQUESTS) expect(FrontendRequest[s.name as keyof typeof FrontendRequest]).toBe(s.code);
    for (const s of BACKEND_REQUESTS) expect(BackendRequest[s.name as keyof typeof BackendRequest]).toBe(s.code);
    expect(Object.keys(FrontendRequest)).toHaveLength(45);
    expect(Object.keys(BackendRequest)).toHaveLength(12);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(FRONTEND_REQUEST_TABLE)).toBe(true);
    expect(Object.isFrozen(FRONTEND_REQUEST_TABLE[5])).toBe(true);
    expect(Object.isFrozen(BACKEND_REQUEST_TABLE)).toBe(true);
  });

  it('every entry is internally consistent', () => {
    for (const s of [...FRONTEND_REQUESTS, ...BACKEND_REQUESTS]) {
      expect(s.payload.codec.family, s.name).toBe(s.payload.family);
      expect(s.anchor, s.name).toBe(`VHOST_USER_${s.name}`);
      if (s.reply === 'always') expect(s.replyPayload, s.name).toBeDefined();
      if (s.reply === 'ackOrAlways') {
        expect(s.replyPayload, s.name).toBeDefined();
        expect(s.alwaysReplyWhen, s.name).toBeDefined();
      }
      if (s.reply === 'ack') expect(s.replyPayload, s.name).toBeUndefined();
      if (s.replyFds !== 'none') expect(s.reply, s.name).toBe('always');
      if (s.gate.protocolFeature !== undefined) expect(ProtocolFeature[s.gate.protocolFeature]).toBeGreaterThanOrEqual(0);
      expect(['T0', 'T1', 'T2', 'T3']).toContain(s.tier);
    }
    for (const s of FRONTEND_REQUESTS) expect(s.direction).toBe(Direction.FRONTEND_TO_BACKEND);
    for (const s of BACKEND_REQUESTS) expect(s.direction).toBe(Direction.BACKEND_TO_FRONTEND);
  });
});

describe('request table: CHECKLIST §2 facts', () => {
  const fe = (code: number) => requestSpec(code, Direction.FRONTEND_TO_BACKEND)!;
  const be = (code: number) => requestSpec(code, Direction.BACKEND_TO_FRONTEND)!;

  it('fd rules', () => {
    expect(fe(FrontendRequest.SET_MEM_TABLE).fds).toBe('perRegion');
    for (const c of [12, 13, 14]) expect(fe(c).fds).toBe('optionalNoFd');
    for (const c of [6, 7, 21, 32, 33, 37, 42]) expect(fe(c).fds, fe(c).name).toBe('one');
    expect(fe(FrontendRequest.REM_MEM_REG).fds).toBe('none');
    expect(fe(FrontendRequest.GET_INFLIGHT_FD).fds).toBe('none');
    expect(fe(FrontendRequest.GET_INFLIGHT_FD).replyFds).toBe('one');
    expect(fe(FrontendRequest.POSTCOPY_ADVISE).replyFds).toBe('one');
    expect(fe(FrontendRequest.GET_SHARED_OBJECT).replyFds).toBe('optional');
    expect(fe(FrontendRequest.SET_DEVICE_STATE_FD).replyFds).toBe('optionalNoFd');
    expect(be(BackendRequest.BACKEND_VRING_HOST_NOTIFIER_MSG).fds).toBe('optionalNoFd');
    expect(be(BackendRequest.BACKEND_SHMEM_MAP).fds).toBe('one');
    expect(be(BackendRequest.BACKEND_SHARED_OBJECT_LOOKUP).replyFds).toBe('optional');
  });

  it('reply rules', () => {
    const always = [1, 11, 15, 17, 22, 24, 26, 28, 30, 31, 36, 40, 41, 42, 43, 44, 45];
    for (const s of FRONTEND_REQUESTS) {
      if (s.code === 6) expect(s.reply).toBe('ackOrAlways');
      else expect(s.reply, s.name).toBe(always.includes(s.code) ? 'always' : 'ack');
    }
    expect(fe(6).alwaysReplyWhen).toBe('LOG_SHMFD');
    expect(fe(FrontendRequest.GET_VRING_BASE).replyPayload?.family).toBe('vring-state');
    expect(fe(FrontendRequest.GET_CONFIG).replyPayload?.family).toBe('config-reply');
    expect(fe(FrontendRequest.GET_INFLIGHT_FD).replyPayload?.family).toBe('inflight');
    expect(fe(FrontendRequest.GET_SHMEM_CONFIG).replyPayload?.family).toBe('shmem-config');
    expect(be(BackendRequest.BACKEND_SHARED_OBJECT_LOOKUP).reply).toBe('always');
  });

  it('payload families', () => {
    expect(fe(5).payload.family).toBe('memory-table');
    expect(fe(9).payload.family).toBe('vring-addr');
    expect(fe(12).payload.family).toBe('vring-fd');
    expect(fe(22).payload.family).toBe('iotlb');
    expect(fe(31).payload.family).toBe('inflight');
    expect(fe(37).payload.family).toBe('mem-region');
    expect(fe(41).payload.family).toBe('shared-object');
    expect(fe(42).payload.family).toBe('device-state');
    expect(be(3).payload.family).toBe('vring-area');
    expect(be(9).payload.family).toBe('mmap-request');
  });

  it('gates and tiers', () => {
    expect(fe(FrontendRequest.GET_QUEUE_NUM).gate.protocolFeature).toBe('MQ');
    expect(fe(FrontendRequest.GET_PROTOCOL_FEATURES).gate).toEqual({ protocolFeaturesBit: 'PF30', stage: 'offered' });
    expect(fe(FrontendRequest.SET_VRING_ENABLE).gate).toEqual({ protocolFeaturesBit: 'PF30', stage: 'negotiated' });
    expect(fe(FrontendRequest.IOTLB_MSG).gate.feature).toBe(33);
    expect(fe(FrontendRequest.NET_SET_MTU).gate).toMatchObject({ protocolFeature: 'MTU', feature: 3 });
    expect(fe(FrontendRequest.POSTCOPY_ADVISE).gate.excludesProtocolFeature).toBe('CONFIGURE_MEM_SLOTS');
    expect(fe(FrontendRequest.GET_SHMEM_CONFIG).gate.protocolFeature).toBe('SHMEM');
    expect(fe(FrontendRequest.GET_SHMEM_CONFIG).tier).toBe('T1');
    expect(fe(FrontendRequest.GET_VRING_BASE_SKIP_DRAIN).tier).toBe('T2');
    expect(be(BackendRequest.BACKEND_SHMEM_MAP).tier).toBe('T1');
    expect(be(BackendRequest.BACKEND_MEM_READ).tier).toBe('T3');
    expect(fe(FrontendRequest.GET_FEATURES).gate).toEqual({});
    expect(fe(FrontendRequest.RESET_OWNER).deprecated).toBe(true);
    expect(FRONTEND_REQUESTS.filter((s) => s.tier === 'T0').map((s) => s.code)).toEqual(Array.from({ length: 43 }, (_, i) => i + 1));
  });
});

describe('lookups', () => {
  it('names codes, unknown as UNKNOWN_<n>', () => {
    expect(frontendRequestName(21)).toBe('SET_BACKEND_REQ_FD');
    expect(frontendRequestName(0)).toBe('UNKNOWN_0');
    expect(frontendRequestName(46)).toBe('UNKNOWN_46');
    expect(frontendRequestName(0xffffffff)).toBe('UNKNOWN_4294967295');
    expect(backendRequestName(1)).toBe('BACKEND_IOTLB_MSG');
    expect(backendRequestName(13)).toBe('UNKNOWN_13');
    expect(requestSpec(1.5)).toBeUndefined();
    expect(requestSpecByName('GET_FEATURES').code).toBe(1);
    expect(requestSpecByName('NOPE')).toBeUndefined();
  });

  it('expectedFdCount reads NOFD and region count from the payload', () => {
    const kick = requestSpecByName('SET_VRING_KICK');
    expect(expectedFdCount(kick, { index: 0, noFd: true, upper: 0n })).toBe(0);
    expect(expectedFdCount(kick, { index: 0, noFd: false, upper: 0n })).toBe(1);
    const r = { guestPhysAddr: 0n, memorySize: 1n, userspaceAddr: 0n, mmapOffset: 0n };
    expect(expectedFdCount(requestSpecByName('SET_MEM_TABLE'), { regions: [r, r, r] })).toBe(3);
    expect(expectedFdCount(requestSpecByName('GET_FEATURES'), undefined)).toBe(0);
    const hn = requestSpecByName('BACKEND_VRING_HOST_NOTIFIER_MSG');
    expect(expectedFdCount(hn, { u64: 0x100n, size: 0n, offset: 0n })).toBe(0);
    expect(expectedFdCount(hn, { u64: 0x1n, size: 4096n, offset: 0n })).toBe(1);
  });
});
