/**
 * Device-wide state a front-end reads and resets: the status byte (SET/GET_STATUS, IDs 39/40),
 * the config space (GET_CONFIG, ID 24) and RESET_DEVICE (ID 34) (CHECKLIST §5.10–5.12:
 * VU-STAT, VU-CFG, VU-RST).
 * @module
 */
import { sendMemoryTable } from '../../fakes/frontend/index.js';
import type { FrontendSession } from '../../fakes/frontend/index.js';
import { DeviceStatus, FrontendRequest, ProtocolFeature, READ_ONLY_CONFIG_FIELD, featureMask, payloads, u64 } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { check, describeObservation, failAt, verdictOf, verifyReply } from '../verify/index.js';
import { loopCheck, postRx, sendFrames, testFrame, PROBE_SEQ } from '../verify/data-net-loop.js';
import { withRig } from '../verify/ring-rig.js';
import { describeOutcome, expectRefused, sendForAck } from '../verify/ring-outcome.js';
import { fail, pass, skip } from '../verify/ring-verdict.js';
import { sleep } from '../verify/ring-wait.js';
import { negotiateDefault, requestAndObserve } from './support/session-setup.js';

const RX = 0;
const TX = 1;
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * IDs 39/40: GET_STATUS "returns the status set by SET_STATUS"; the device may add
 * DEVICE_NEEDS_RESET on its own (virtio "Device Status Field"), nothing else.
 */
const statusReadBack: ConformanceCase = {
  id: 'backend/device-state/get-status-returns-set-value',
  title: 'GET_STATUS returns the last value SET_STATUS wrote',
  area: 'device-state',
  requirements: ['VU-STAT-001'],
  level: 'MUST',
  role: 'backend',
  needs: { protocolFeatures: [ProtocolFeature.STATUS] },
  spec: { doc: 'vhost-user', anchor: 'VHOST_USER_GET_STATUS', quote: 'When the VHOST_USER_PROTOCOL_F_STATUS protocol feature has been successfully negotiated, this message is submitted by the front-end to query the back-end device status.' },
  description: 'Negotiates STATUS, then walks the driver through ACKNOWLEDGE (1), DRIVER (3), FEATURES_OK (11) and DRIVER_OK (15) with SET_STATUS; after each, GET_STATUS must return the value set (DEVICE_NEEDS_RESET, 64, may be added by the device).',
  async run(ctx) {
    const s = await ctx.openSession();
    await negotiateDefault(s, ctx.peer, ctx.peer.protocolFeatures & featureMask(ProtocolFeature.STATUS, ProtocolFeature.REPLY_ACK));
    const { ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK, DEVICE_NEEDS_RESET } = DeviceStatus;
    const steps = [ACKNOWLEDGE, ACKNOWLEDGE | DRIVER, ACKNOWLEDGE | DRIVER | FEATURES_OK, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK];
    for (const value of steps) {
      await s.command(FrontendRequest.SET_STATUS, u64.encode(BigInt(value)));
      const o = await requestAndObserve(ctx, s, FrontendRequest.GET_STATUS);
      const r = verifyReply(o, FrontendRequest.GET_STATUS, 8);
      if (!r.ok) return failAt(`GET_STATUS after SET_STATUS ${value}`, r);
      const got = o.kind === 'reply' ? u64.decode(o.body) : -1n;
      const ok = (got & ~BigInt(DEVICE_NEEDS_RESET)) === BigInt(value);
      if (!ok) return verdictOf([check(false, [`GET_STATUS = ${value} (or ${value | DEVICE_NEEDS_RESET} with DEVICE_NEEDS_RESET) after SET_STATUS ${value}`], `GET_STATUS = ${got} (${hex(got)})`)]);
    }
    return pass();
  },
};

/** ID 24: the reply carries the request's offset and size and exactly `size` bytes of data. */
const configEcho: ConformanceCase = {
  id: 'backend/device-state/get-config-echoes-offset-and-size',
  title: 'GET_CONFIG replies with the offset and size asked and exactly that many bytes',
  area: 'device-state',
  requirements: ['VU-CFG-001'],
  level: 'MUST',
  role: 'backend',
  needs: { protocolFeatures: [ProtocolFeature.CONFIG] },
  spec: { doc: 'vhost-user', anchor: 'VHOST_USER_GET_CONFIG', quote: 'The back-end replies with the same offset and size fields and the contents of the device configuration space; an empty payload signals an error.' },
  description: 'Asks GET_CONFIG for offset 0 size 12, then offset 4 and offset 8 with size 4; each reply must be 12 + size bytes and echo offset and size, and each 4-byte part must equal the same bytes of the first answer.',
  async run(ctx) {
    const s = await ctx.openSession();
    await negotiateDefault(s, ctx.peer, ctx.peer.protocolFeatures & featureMask(ProtocolFeature.CONFIG, ProtocolFeature.REPLY_ACK));
    const ask = async (offset: number, size: number): Promise<Uint8Array | string> => {
      const body = payloads.config.encode({ offset, size, flags: 0, data: new Uint8Array(size) });
      const o = await requestAndObserve(ctx, s, FrontendRequest.GET_CONFIG, body);
      const r = verifyReply(o, FrontendRequest.GET_CONFIG, 12 + size);
      if (!r.ok || o.kind !== 'reply') return `GET_CONFIG offset ${offset} size ${size}: ${describeObservation(o)}`;
      const got = payloads.config.decode(o.body);
      if (got.offset !== offset || got.size !== size) return `GET_CONFIG offset ${offset} size ${size}: reply says offset ${got.offset} size ${got.size}`;
      return got.data;
    };
    const whole = await ask(0, 12);
    if (typeof whole === 'string') return fail('a reply of 12 + 12 bytes with offset 0, size 12', whole);
    ctx.note(`config bytes 0..11: [${[...whole].join(',')}]`);
    // A back-end that ignores `offset` answers every part with bytes from offset 0.
    for (const offset of [4, 8]) {
      const part = await ask(offset, 4);
      if (typeof part === 'string') return fail(`a reply of 12 + 4 bytes with offset ${offset}, size 4`, part);
      const want = whole.subarray(offset, offset + 4);
      if (!bytesEqual(part, want)) {
        return fail(`GET_CONFIG offset ${offset} size 4 returns config bytes ${offset}..${offset + 3}: [${[...want].join(',')}]`, `[${[...part].join(',')}]${bytesEqual(part, whole.subarray(0, 4)) ? ' (the bytes at offset 0: the offset was ignored)' : ''}`);
      }
    }
    return pass();
  },
};

/**
 * ID 34: RESET_DEVICE "resets the device to its initial state": rings disabled, device state
 * back to defaults; the connection and ownership stay, so the front-end sets up again on the
 * same socket; the old rings and mappings are no longer touched (VU-RST-002).
 */
const resetThenSetup: ConformanceCase = {
  id: 'backend/device-state/reset-device-then-set-up-again',
  title: 'After RESET_DEVICE the old rings stay still and a new set-up on the same socket moves traffic',
  area: 'device-state',
  requirements: ['VU-RST-001', 'VU-RST-002'],
  level: 'MUST',
  role: 'backend',
  deviceTypes: ['net'],
  needs: { protocolFeatures: [ProtocolFeature.RESET_DEVICE], loopingNet: true },
  spec: { doc: 'vhost-user', anchor: 'VHOST_USER_RESET_DEVICE', quote: 'Ask the vhost user back-end to disable all rings and reset all internal device state to the initial state, ready to be reinitialized. The back-end retains ownership of the device throughout the reset operation.' },
  description: 'Loops frames through pair 0, sends RESET_DEVICE, then publishes and kicks TX frames and RX buffers on the old rings: both used rings must stay untouched for the quiet window. Then sends SET_FEATURES, the memory table and the rings again from index 0 on the same connection (no new SET_OWNER): frames must loop.',
  async run(ctx) {
    const protocolFeatures = ctx.peer.protocolFeatures & featureMask(ProtocolFeature.REPLY_ACK, ProtocolFeature.RESET_DEVICE);
    return withRig(ctx, { protocolFeatures }, async (rig) => {
      await rig.startAll();
      const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
      if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
      await rig.session.command(FrontendRequest.RESET_DEVICE);
      const before = [rig.usedRingBytes(RX), rig.usedRingBytes(TX)];
      postRx(rig, RX);
      sendFrames(rig, TX, [0, 1, 2, 3].map(() => testFrame(PROBE_SEQ, 64)));
      rig.publish(TX, true);
      rig.publish(RX, true);
      await sleep(ctx.quietMs, ctx.signal);
      for (const [i, ring] of [RX, TX].entries()) {
        if (!bytesEqual(before[i]!, rig.usedRingBytes(ring))) {
          return fail(`used ring ${ring} untouched for ${ctx.quietMs} ms after RESET_DEVICE`, `used ring ${ring} changed (used.idx ${rig.usedIdx(ring)})`);
        }
      }
      // Set up again on the same connection: ownership survives the reset, so no SET_OWNER.
      await rig.session.setFeatures(rig.session.features);
      await sendMemoryTable(rig.session, rig.memory);
      rig.resetRing(RX, 0);
      rig.resetRing(TX, 0);
      await rig.startAll();
      const again = await loopCheck(rig, 0, { count: 8, size: 64, firstSeq: 1000, timeoutMs: ctx.waitMs, signal: ctx.signal });
      if (again) return fail(again.expected.map((e) => `after RESET_DEVICE and a new set-up: ${e}`), again.actual);
      return pass();
    });
  },
};

/**
 * ID 25: SET_CONFIG writes "the device configuration space"; the driver may write only the
 * fields its device type marks writable, and the flags value 1 (migration) is how a front-end
 * restores the rest. A plain write (flags 0) to a read-only field must be refused and leave it
 * as it was (VU-CFG-003).
 */
const configReadOnly: ConformanceCase = {
  id: 'backend/device-state/set-config-read-only-field-refused',
  title: 'SET_CONFIG with flags 0 to a read-only config field is refused and the field keeps its value',
  area: 'device-state',
  requirements: ['VU-CFG-003'],
  level: 'MUST',
  role: 'backend',
  deviceTypes: ['net', 'blk', 'gpu', 'fs'],
  needs: { protocolFeatures: [ProtocolFeature.CONFIG, ProtocolFeature.REPLY_ACK] },
  spec: { doc: 'vhost-user', anchor: 'VHOST_USER_SET_CONFIG', quote: 'Set the device configuration space; a write the device does not allow (a read-only field, flags 0 rather than 1 for migration) is refused.' },
  description: 'Reads one read-only field with GET_CONFIG (net max_virtqueue_pairs, blk capacity, gpu num_scanouts, fs num_request_queues), writes its complement with SET_CONFIG flags 0 and NEED_REPLY: the ack must be non-zero (or the connection closed), and GET_CONFIG (on a fresh session if needed) must return the old value.',
  async run(ctx) {
    const field = READ_ONLY_CONFIG_FIELD[ctx.peer.deviceType];
    if (field === undefined) return skip(`no read-only config field known for device type ${ctx.peer.deviceType}`);
    const open = async (): Promise<FrontendSession> => {
      const s = await ctx.openSession();
      await negotiateDefault(s, ctx.peer, ctx.peer.protocolFeatures & featureMask(ProtocolFeature.CONFIG, ProtocolFeature.REPLY_ACK));
      return s;
    };
    const read = async (s: FrontendSession): Promise<Uint8Array | string> => {
      const body = payloads.config.encode({ offset: field.offset, size: field.size, flags: 0, data: new Uint8Array(field.size) });
      const o = await requestAndObserve(ctx, s, FrontendRequest.GET_CONFIG, body);
      if (!verifyReply(o, FrontendRequest.GET_CONFIG, 12 + field.size).ok || o.kind !== 'reply') return describeObservation(o);
      return payloads.config.decode(o.body).data;
    };
    const where = `${field.name} (offset ${field.offset}, ${field.size} bytes)`;
    let s = await open();
    try {
      const before = await read(s);
      if (typeof before === 'string') return skip(`GET_CONFIG of ${where} is not answered with data: ${before}`);
      const data = before.map((b) => b ^ 0xff);
      const body = payloads.config.encode({ offset: field.offset, size: field.size, flags: 0, data });
      const outcome = await sendForAck(s, FrontendRequest.SET_CONFIG, body);
      // A back-end that drops the connection after the write (libvhost-user's vu_panic) is read
      // back on a fresh session.
      let after = outcome.kind === 'ack' ? await read(s) : 'the connection is gone';
      if (typeof after === 'string') {
        s.close();
        s = await open();
        after = await read(s);
      }
      ctx.note(`${where}: [${[...before].join(',')}]; SET_CONFIG of its complement: ${describeOutcome(outcome)}; read back: ${typeof after === 'string' ? after : `[${[...after].join(',')}]`}`);
      if (typeof after === 'string') return fail(`GET_CONFIG of ${where} still answered after the refused write`, after);
      if (!bytesEqual(after, before)) return fail(`${where} keeps its value [${[...before].join(',')}] after SET_CONFIG flags 0 tried to change it`, `it reads [${[...after].join(',')}]`);
      const refused = expectRefused(`of read-only ${where} with flags 0`, FrontendRequest.SET_CONFIG, outcome);
      return refused ? fail(refused.expected, refused.actual) : pass();
    } finally {
      s.close();
    }
  },
};

/** The device-state cases, in run order. */
export const deviceStateCases: readonly ConformanceCase[] = Object.freeze([statusReadBack, configEcho, configReadOnly, resetThenSetup]);
