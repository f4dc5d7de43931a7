/**
 * The memory hot-plug scenario shared by the memory-table and descriptor-lifetime cases
 * (VU-MEM-006/007, VU-DP-020): rings run, then a new SET_MEM_TABLE maps the same GPAs and user
 * addresses from new memfds at other offsets (contents copied first) plus one added region, as
 * QEMU's table changes on hot-plug. The old memfd is then filled with a poison pattern: a
 * back-end still reading it sees garbage rings, one still writing it changes the pattern.
 * @module
 */
import type { CaseContext } from '../model.js';
import { loopCheck, postRx, sendFrames, testFrame } from './data-net-loop.js';
import { withRig } from './ring-rig.js';
import { mismatch, type CheckResult } from './ring-verdict.js';
import { sleep, waitUntil } from './ring-wait.js';

/** Byte the old memory is filled with after the swap. */
export const POISON = 0xee;

/** The scenario's three observations. */
export interface TableSwapResult {
  /** Something before the swap went wrong (traffic never started, the swap was refused). */
  setup: CheckResult;
  /** Frames loop intact on the new memory. */
  traffic: CheckResult;
  /** The old memory kept the poison pattern through traffic and the quiet window. */
  oldUntouched: CheckResult;
}

/** Runs the scenario on pair 0 of a net back-end. */
export async function tableSwap(ctx: CaseContext): Promise<TableSwapResult> {
  const gpa = 0x1_0000_0000;
  const size = 4 << 20;
  return withRig(ctx, { regions: [{ guestPhysAddr: gpa, size, mmapOffset: 0x1000 }] }, async (rig) => {
    const none: TableSwapResult = { setup: undefined, traffic: undefined, oldUntouched: undefined };
    await rig.startAll();
    // Phase 1: TX only (no RX buffers, so nothing stays in flight): the back-end is running.
    sendFrames(rig, 1, Array.from({ length: 8 }, (_, i) => testFrame(i, 64)));
    if (!(await waitUntil(() => rig.usedIdx(1) === 8, ctx.waitMs, ctx.signal))) {
      return { ...none, setup: mismatch('8 TX chains used before the table swap', `TX used.idx ${rig.usedIdx(1)} after ${ctx.waitMs} ms`) };
    }
    rig.reclaim(1);
    const userAddr = rig.memory.regions[0].userAddr;
    try {
      await rig.replaceMemory([
        { guestPhysAddr: gpa, size, userAddr, mmapOffset: 0x9000 },
        { guestPhysAddr: 0x2_0000_0000, size: 1 << 20 },
      ]);
    } catch (err) {
      return { ...none, setup: mismatch('the new SET_MEM_TABLE is acked 0', (err as Error).message) };
    }
    const old = rig.retired[0];
    for (const r of old.regions) r.bytes.fill(POISON);
    postRx(rig, 0);
    const traffic = await loopCheck(rig, 0, { count: 64, size: 512, firstSeq: 100, timeoutMs: ctx.waitMs, signal: ctx.signal });
    await sleep(ctx.quietMs, ctx.signal);
    let oldUntouched: CheckResult;
    for (const r of old.regions) {
      const at = r.bytes.findIndex((b) => b !== POISON);
      if (at >= 0) {
        oldUntouched = mismatch('the replaced memfd is not written after the new SET_MEM_TABLE', `byte at GPA 0x${(r.guestPhysAddr + at).toString(16)} of the old memfd changed from 0x${POISON.toString(16)} to 0x${r.bytes[at].toString(16)}`);
        break;
      }
    }
    return {
      setup: undefined,
      traffic: traffic && mismatch(traffic.expected.map((e) => `on the new memory: ${e}`), traffic.actual),
      oldUntouched,
    };
  });
}
