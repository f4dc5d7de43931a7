/**
 * The memory table: SET_MEM_TABLE, GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG (vhost-user.rst
 * "Memory access"; CHECKLIST VU-MEM). Validation and mapping are `MappedGuestMemory`'s: it takes
 * ownership of the region fds and closes them on failure. After every change the running rings
 * are re-translated before they are touched again (VU-MEM-006/007), and the old mapping is
 * released only after that (its stale views read zeros, never the front-end's new memory).
 * @module
 */
import { MappedGuestMemory, type ReceivedRegion } from '../../memory/index.js';
import { payloads } from '../../wire/index.js';
import { fail, ok, reply } from '../result.js';
import type { Handler, HandlerContext } from './context.js';

/** Memory slots offered with CONFIGURE_MEM_SLOTS (VU-MEM-011/012). */
export const MAX_MEM_SLOTS = 32;

const received = (r: payloads.MemoryRegion, fd: number): ReceivedRegion => ({
  guestPhysAddr: r.guestPhysAddr, size: r.memorySize, userAddr: r.userspaceAddr, mmapOffset: r.mmapOffset, fd,
});

function describe(mem: MappedGuestMemory): string {
  return mem.regions.map((r) => `[gpa 0x${r.guestPhysAddr.toString(16)} +0x${r.size.toString(16)}]`).join(' ');
}

/** SET_MEM_TABLE: replaces the whole table (VU-MEM-001/002/006). */
export const setMemTable: Handler<payloads.MemoryTable> = (table, ctx: HandlerContext) => {
  const { state, fds, rings } = ctx;
  // OWNERSHIP: every region fd moves to MappedGuestMemory, which closes them all on failure.
  const regions = table.regions.map((r, i) => received(r, fds.take(i)));
  let mem: MappedGuestMemory;
  try {
    mem = MappedGuestMemory.map(regions);
  } catch (e) {
    return fail(`SET_MEM_TABLE refused: ${(e as Error).message}`, { rule: 'VU-MEM-010' });
  }
  const old = state.memory;
  state.memory = mem;
  rings.remapAll();
  old?.close();
  state.event('mem-table', { detail: describe(mem) });
  return ok();
};

// Extra references to a region added again unchanged, per memory object (a new table or a new
// session starts from none). QEMU 7.2 builds a multiqueue net device from one vhost device per
// queue pair and each sends ADD_MEM_REG for the same guest RAM; libvhost-user and DPDK accept
// the repeat. Refusing it would fail QEMU's start-up; mapping it twice would overlap.
const duplicates = new WeakMap<MappedGuestMemory, Map<string, number>>();
const regionKey = (gpa: number | bigint, size: number | bigint, uva: number | bigint): string => `${gpa}/${size}/${uva}`;

function sameRegion(mem: MappedGuestMemory, r: payloads.MemoryRegion): boolean {
  return mem.regions.some((x) => BigInt(x.guestPhysAddr) === r.guestPhysAddr && BigInt(x.size) === r.memorySize && BigInt(x.userAddr) === r.userspaceAddr);
}

/** GET_MAX_MEM_SLOTS. */
export const getMaxMemSlots: Handler<undefined> = () => reply(payloads.u64.encode(BigInt(MAX_MEM_SLOTS)));

/** ADD_MEM_REG: one more region; beyond the slot count it fails (VU-MEM-012). */
export const addMemReg: Handler<payloads.SingleMemoryRegion> = ({ region }, { state, fds, rings }) => {
  if (state.memory !== undefined && sameRegion(state.memory, region)) {
    // A repeat of a region already mapped (see `duplicates`): counted, its fd left to the dispatcher to close.
    let m = duplicates.get(state.memory);
    if (m === undefined) duplicates.set(state.memory, (m = new Map()));
    const k = regionKey(region.guestPhysAddr, region.memorySize, region.userspaceAddr);
    m.set(k, (m.get(k) ?? 0) + 1);
    state.event('mem-add-repeat', { detail: `gpa 0x${region.guestPhysAddr.toString(16)} +0x${region.memorySize.toString(16)} already mapped` });
    return ok();
  }
  // Refused before taking the fd: the dispatcher closes what nobody took.
  if (state.memory !== undefined && state.memory.regions.length >= MAX_MEM_SLOTS) {
    return fail(`ADD_MEM_REG: all ${MAX_MEM_SLOTS} slots are in use`, { rule: 'VU-MEM-012' });
  }
  // OWNERSHIP: the fd moves to MappedGuestMemory, which closes it on failure.
  const r = received(region, fds.take(0));
  try {
    if (state.memory === undefined) state.memory = MappedGuestMemory.map([r]);
    else state.memory.addRegion(r);
  } catch (e) {
    return fail(`ADD_MEM_REG refused: ${(e as Error).message}`, { rule: 'VU-MEM-010' });
  }
  rings.remapAll();
  state.event('mem-add', { detail: describe(state.memory) });
  return ok();
};

/** REM_MEM_REG: matched by GPA, user address and size, mmap_offset ignored (VU-MEM-013). */
export const remMemReg: Handler<payloads.SingleMemoryRegion> = ({ region }, { state, rings }) => {
  if (state.memory === undefined) return fail('REM_MEM_REG without a memory table', { rule: 'VU-MEM-013' });
  const m = duplicates.get(state.memory);
  const k = regionKey(region.guestPhysAddr, region.memorySize, region.userspaceAddr);
  const extra = m?.get(k) ?? 0;
  if (extra > 0) {
    m!.set(k, extra - 1);
    return ok();
  }
  try {
    state.memory.removeRegion({ guestPhysAddr: region.guestPhysAddr, userAddr: region.userspaceAddr, size: region.memorySize });
  } catch (e) {
    return fail(`REM_MEM_REG: ${(e as Error).message}`, { rule: 'VU-MEM-013' });
  }
  rings.remapAll();
  state.event('mem-rem', { detail: describe(state.memory) });
  return ok();
};
