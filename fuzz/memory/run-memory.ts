/**
 * Runs one memory scenario. Rings live in region A, which never changes; packet buffers live in
 * region B, which the scenario replaces while the rings keep running: the TX side is drained
 * first (no buffer of B in the device's hands but posted RX buffers), B's bytes are copied into a
 * new memfd at a new offset, the new table goes out with NEED_REPLY (a whole SET_MEM_TABLE or
 * REM_MEM_REG + ADD_MEM_REG, as the scenario says), and the old memfd is filled
 * with canaries and kept mapped. Oracles: every frame comes back intact (so it was read from and
 * written to the current B), no canary in an old memfd changes (no access through a stale
 * mapping, VU-MEM-007), no descriptor is completed twice, the back-end does not crash or hang.
 * @module
 */
import { FrontendSession } from '../../fakes/frontend/index.js';
import { MemfdGuestMemory, type GuestRegion } from '../../fakes/memory/index.js';
import { FrontendRequest, ProtocolFeature, TimeoutError, featureMask, hasFeature, memRegion, memoryTable } from '../../fakes/wire/index.js';
import { crashFinding, timeoutFinding } from '../campaign/oracles.js';
import { Finding, FindingKind } from '../campaign/finding.js';
import type { FuzzPeer } from '../peer/fuzz-peer.js';
import { LoopDevice, LOOP_QUEUE_SIZE } from '../reconnect/loop-device.js';
import { describeOp, type MemoryScenario } from './scenario.js';

const GPA_A = 0x1_0000_0000;
const GPA_B = 0x2_0000_0000;
const GPA_EXTRA = 0x3_0000_0000;
const B_SIZE = 2 * 2048 * LOOP_QUEUE_SIZE;
const PAGE = 0x1000;
const CANARY = 0xa5;

const wire = (r: GuestRegion) => ({ guestPhysAddr: BigInt(r.guestPhysAddr), memorySize: BigInt(r.size), userspaceAddr: BigInt(r.userAddr), mmapOffset: BigInt(r.mmapOffset) });

/** Runs `s` on `peer` (started). Throws a {@link Finding}. */
export async function runMemoryScenario(peer: FuzzPeer, s: MemoryScenario, o: { replyTimeoutMs: number; log?: string[] }): Promise<void> {
  const log = o.log ?? [];
  const memA = MemfdGuestMemory.create([{ guestPhysAddr: GPA_A, size: 1 << 20 }], { name: 'vhostlab-mem-a' });
  const olds: MemfdGuestMemory[] = [];
  let memB = MemfdGuestMemory.create([{ guestPhysAddr: GPA_B, size: B_SIZE }], { name: 'vhostlab-mem-b' });
  const extras: MemfdGuestMemory[] = [];
  const table = (): GuestRegion[] => [memA.regions[0], memB.regions[0], ...extras.map((e) => e.regions[0])];
  const device = LoopDevice.create({ memory: memA, bufferBase: GPA_B, bufferMemory: () => memB, tableRegions: table, extraProtocolFeatures: featureMask(ProtocolFeature.CONFIGURE_MEM_SLOTS) });
  let session: FrontendSession | undefined;
  const wrap = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      if (err instanceof Finding) throw err;
      if (err instanceof TimeoutError) throw await timeoutFinding(peer, `${what}: ${err.message}`);
      throw (await crashFinding(peer, what)) ?? new Finding(FindingKind.LIVENESS, `${what} failed: ${(err as Error).message}`, log);
    }
  };
  const sendTable = async (sess: FrontendSession, removed?: GuestRegion, added?: GuestRegion, whole = false): Promise<void> => {
    if (!whole && hasFeature(sess.protocolFeatures, ProtocolFeature.CONFIGURE_MEM_SLOTS)) {
      if (removed) await sess.command(FrontendRequest.REM_MEM_REG, memRegion.encode({ region: wire(removed) }));
      if (added) await sess.command(FrontendRequest.ADD_MEM_REG, memRegion.encode({ region: wire(added) }), [added.fd!]);
      return;
    }
    const regions = table();
    await sess.command(FrontendRequest.SET_MEM_TABLE, memoryTable.encode({ regions: regions.map(wire) }), regions.map((r) => r.fd!));
  };
  try {
    session = await wrap('connecting', async () => new FrontendSession(await peer.connect(o.replyTimeoutMs), { replyTimeoutMs: o.replyTimeoutMs }));
    const sess = session;
    await wrap('starting the device', () => device.attach(sess, { rx: 0, tx: 0 }));
    for (const op of s.ops) {
      log.push(describeOp(op));
      if (op.kind === 'traffic') {
        device.sendFrames(op.frames);
        device.poll();
        continue;
      }
      // Quiesce the buffers: nothing of B in the device's hands but posted RX buffers.
      await device.drain(o.replyTimeoutMs);
      if (device.txInFlight > 0) throw new Finding(FindingKind.LIVENESS, `${device.txInFlight} TX descriptors not completed before a table change`, log);
      if (op.kind === 'replace') {
        const old = memB;
        const fresh = MemfdGuestMemory.create([{ guestPhysAddr: GPA_B, size: B_SIZE, mmapOffset: op.offsetPages * PAGE || PAGE, userAddr: old.regions[0].userAddr }], { name: 'vhostlab-mem-b' });
        fresh.regions[0].bytes.set(old.regions[0].bytes);
        memB = fresh;
        await wrap('replacing the memory table', () => sendTable(sess, old.regions[0], fresh.regions[0], op.via === 'set-mem-table'));
        old.regions[0].bytes.fill(CANARY);
        olds.push(old);
      } else {
        const gpa = GPA_EXTRA + op.gpaSlot * 0x100_0000;
        const extra = MemfdGuestMemory.create([{ guestPhysAddr: gpa, size: op.pages * PAGE }], { name: 'vhostlab-mem-x' });
        extras.push(extra);
        await wrap('adding a region', () => sendTable(sess, undefined, extra.regions[0]));
        extras.pop();
        await wrap('removing a region', () => sendTable(sess, extra.regions[0], undefined));
        extra.close();
      }
    }
    const from = device.nextSeq;
    device.sendFrames(s.finalFrames);
    await device.drain(o.replyTimeoutMs, from);
    const crash = await crashFinding(peer, 'after the table changes');
    if (crash) throw crash;
    for (const [i, old] of olds.entries()) {
      const bad = old.regions[0].bytes.findIndex((b) => b !== CANARY);
      if (bad >= 0) throw new Finding(FindingKind.CORRUPTION, `the back-end wrote to replaced memory (memfd ${i + 1}, offset 0x${bad.toString(16)}) after the new table was acked`, log);
    }
    if (device.corrupted > 0) throw new Finding(FindingKind.CORRUPTION, `${device.corrupted} frames arrived corrupted (read from or written to the wrong memory)`, log);
    const v = device.violations;
    if (v.length > 0) throw new Finding(FindingKind.STATE_LOSS, `${v.length} descriptor lifetime violations: ${v[0].rule} ${v[0].detail}`, log);
    let missing = 0;
    for (let q = 0; q < device.nextSeq; q++) if (!device.received.has(q)) missing++;
    if (missing > 0 || device.txInFlight > 0) throw new Finding(FindingKind.LIVENESS, `${missing} of ${device.nextSeq} frames never came back, ${device.txInFlight} TX descriptors still in flight`, log);
  } finally {
    session?.close();
    device.close();
    memB.close();
    for (const m of [...olds, ...extras, memA]) m.close();
  }
}
