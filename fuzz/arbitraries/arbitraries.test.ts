import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ProtocolError, decodeMessage, decodeRaw, FRONTEND_REQUESTS, HEADER_SIZE, type RequestSpec } from '../../fakes/wire/index.js';
import { ArrayGuestMemory } from '../../fakes/memory/index.js';
import { mapRingAreas, QueueConfigError } from '../../fakes/virtqueue/queue-config.js';
import { GuestMemoryError } from '../../fakes/memory/guest-memory.js';
import {
  buildStep, commandClass, gateHolds, initialModel, invalidFlags, isValidLayout, memoryLayout, protocolCommands, validMemoryLayout,
  requestArgs, resolveDisconnect, disconnectPoint, vringConfig, type PeerOffer, type FuzzStep, type StepSink,
} from './index.js';

const offer: PeerOffer = { deviceType: 'net', features: (1n << 32n) | (1n << 30n) | (1n << 22n), protocolFeatures: 0b1011n | (1n << 15n), rings: 2 };
const spec = fc.constantFrom(...FRONTEND_REQUESTS);

describe('message arbitraries', () => {
  it('every generated message decodes, or fails only with a ProtocolError', () => {
    fc.assert(fc.property(spec.chain((s: RequestSpec) => fc.tuple(fc.constant(s), requestArgs(s))), ([s, args]) => {
      const step = buildStep(s, args, initialModel(offer));
      try {
        decodeMessage(decodeRaw(step.bytes));
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
      }
    }), { numRuns: 2000 });
  });

  it('unmutated messages of a valid payload decode to the request they name, with the fds their rule asks for', () => {
    fc.assert(fc.property(spec.chain((s: RequestSpec) => fc.tuple(fc.constant(s), requestArgs(s, { noneWeight: 1000, validWeight: 1000 }))), ([s, args]) => {
      fc.pre(args.mutation.kind === 'none');
      const step = buildStep(s, args, initialModel(offer));
      const m = decodeMessage(decodeRaw(step.bytes));
      expect(m.request).toBe(s.name);
      if (s.fds === 'none') expect(step.fds).toEqual([]);
      if (s.fds === 'one') expect(step.fds.length).toBe(1);
    }), { numRuns: 1000 });
  });

  it('invalid flags are never a valid request flags word', () => {
    fc.assert(fc.property(invalidFlags(), (f) => {
      expect(f === 0x1 || f === 0x9).toBe(false);
    }));
  });

  it('memory layouts: valid ones are disjoint and aligned, and defects are detectable', () => {
    fc.assert(fc.property(memoryLayout({ validWeight: 1 }), (regions) => {
      expect(regions.length).toBeLessThanOrEqual(8);
      if (isValidLayout(regions)) for (const r of regions) expect(r.mmapOffset % 0x1000n).toBe(0n);
    }));
    // A weighted mix still yields a defect now and then, so validity is checked on the pure generator.
    fc.assert(fc.property(validMemoryLayout(), (regions) => {
      fc.pre(regions.length > 0);
      expect(isValidLayout(regions)).toBe(true);
    }), { numRuns: 200 });
  });

  it('ring configs become queues or are refused with a typed error', () => {
    const mem = new ArrayGuestMemory([{ guestPhysAddr: 0, size: 0x10000 }]);
    fc.assert(fc.property(vringConfig({ validWeight: 1 }), (cfg) => {
      try {
        mapRingAreas(mem, cfg, cfg.format);
      } catch (err) {
        expect(err instanceof QueueConfigError || err instanceof GuestMemoryError).toBe(true);
      }
    }));
  });

  it('disconnect points resolve inside the sequence', () => {
    fc.assert(fc.property(disconnectPoint({ maxMessages: 8 }), fc.array(fc.integer({ min: HEADER_SIZE, max: 300 }), { minLength: 1, maxLength: 8 }), (p, lengths) => {
      const r = resolveDisconnect(p, lengths);
      expect(r.message).toBeLessThanOrEqual(lengths.length);
      if (r.message < lengths.length) expect(r.byte).toBeLessThan(lengths[r.message]);
    }));
  });
});

describe('model-based commands', () => {
  it('one command class per request, named after it, whose check is the request gate', () => {
    for (const s of FRONTEND_REQUESTS) {
      const C = commandClass(s);
      expect(C.name).toBe(`${s.name}Command`);
      const cmd = new C({ payload: undefined, needReply: true, mutation: { kind: 'none' } });
      expect(cmd.toString()).toBe(s.name);
      const fresh = initialModel(offer);
      expect(cmd.check(fresh)).toBe(gateHolds(fresh, s));
    }
    // MQ-gated GET_QUEUE_NUM: not before SET_PROTOCOL_FEATURES acks MQ.
    const m = initialModel(offer);
    const q = new (commandClass(FRONTEND_REQUESTS.find((s) => s.name === 'GET_QUEUE_NUM')!))({ payload: undefined, needReply: false, mutation: { kind: 'none' } });
    expect(q.check(m)).toBe(false);
    m.protocolFeatures = 1n;
    expect(q.check(m)).toBe(true);
  });

  it('every command that runs holds its precondition, and steps owed a reply are well-formed', async () => {
    await fc.assert(fc.asyncProperty(fc.commands(protocolCommands({ maxRings: 2 }), { maxCommands: 30, size: 'max' }), async (cmds) => {
      const steps: FuzzStep[] = [];
      let model = initialModel(offer);
      const sink: StepSink = {
        send: async (s) => {
          steps.push(s);
          return s.cutAt !== undefined ? { kind: 'closed', detail: 'cut' } : s.reply === 'expect' ? { kind: 'replied', body: new Uint8Array(8) } : { kind: 'sent' };
        },
      };
      for (const c of cmds) {
        if (!c.check(model)) continue;
        await c.run(model, sink);
      }
      for (const s of steps) if (s.reply === 'expect') expect(() => decodeMessage(decodeRaw(s.bytes))).not.toThrow();
      model = initialModel(offer);
      expect(model.closed).toBe(false);
    }), { numRuns: 200 });
  });
});
