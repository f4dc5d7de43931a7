/**
 * vhost-user.rst "Memory access", SET_MEM_TABLE, GET_MAX_MEM_SLOTS, ADD_MEM_REG and REM_MEM_REG
 * (CHECKLIST §5.5, VU-MEM-*): fd/region pairing, exact-size tables, address translation through
 * mmap_offset and user addresses, tables replaced under running rings, descriptors outside
 * memory, memory slots, and regions a back-end must not accept.
 * @module
 */
import { closeFd, memfdCreate } from '../../native/index.js';
import { FrontendRequest, ProtocolFeature, VirtioFeature, featureMask, memRegion, memoryTable } from '../../fakes/wire/index.js';
import { MemfdGuestMemory } from '../../fakes/memory/index.js';
import { negotiate, type FrontendSession } from '../../fakes/frontend/index.js';
import type { CaseContext, ConformanceCase } from '../model.js';
import { loopCheck } from '../verify/data-net-loop.js';
import { FdProbe, stillOpen } from '../verify/ring-fd-probe.js';
import { describeOutcome, expectAccepted, expectRefused, sendForAck, stillServes } from '../verify/ring-outcome.js';
import { withRig } from '../verify/ring-rig.js';
import { fail, mismatch, pass, skip, verdictOf, type CheckResult } from '../verify/ring-verdict.js';
import { sleep } from '../verify/ring-wait.js';
import { tableSwap } from '../verify/memory-table-swap.js';

type MemoryRegion = memRegion.MemoryRegion;
const NET = ['net'] as const;
const PAGE = 0x1000;
const SLOTS = ProtocolFeature.CONFIGURE_MEM_SLOTS;

/** A session with VERSION_1 and REPLY_ACK (plus `extra` protocol features) negotiated. */
async function memSession(ctx: CaseContext, extra: number[] = []): Promise<FrontendSession> {
  const s = await ctx.openSession();
  await negotiate(s, { features: featureMask(VirtioFeature.VERSION_1), protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK, ...extra) });
  return s;
}

/** A region description (QVA ≠ GPA). */
const region = (gpa: bigint, size: bigint, mmapOffset = 0n, qva = 0x7e00_0000_0000n + gpa): MemoryRegion => ({
  guestPhysAddr: gpa, memorySize: size, userspaceAddr: qva, mmapOffset,
});

/**
 * Sends SET_MEM_TABLE `regions` with one fresh memfd of `fileSize` bytes per region (or the
 * given fds) and returns the check that it was refused.
 */
async function refusedTable(ctx: CaseContext, what: string, regions: MemoryRegion[], fileSizes: number[]): Promise<CheckResult> {
  const s = await memSession(ctx);
  const fds = fileSizes.map((size, i) => memfdCreate(`vhostlab-bad-${i}`, size));
  try {
    return expectRefused(what, FrontendRequest.SET_MEM_TABLE, await sendForAck(s, FrontendRequest.SET_MEM_TABLE, memoryTable.encode({ regions }), fds));
  } finally {
    for (const fd of fds) closeFd(fd);
    s.close();
  }
}

/** Refusal of a bad table, plus "the back-end keeps serving". */
async function rejectsTable(ctx: CaseContext, what: string, regions: MemoryRegion[], fileSizes: number[]): Promise<CheckResult> {
  const r = await refusedTable(ctx, what, regions, fileSizes);
  const serves = await stillServes(undefined, () => ctx.openSession());
  if (ctx.peerAlive() === false) return mismatch('the back-end process survives', `it exited after SET_MEM_TABLE with ${what}`);
  return r ?? serves;
}

/** The memory-table cases. */
export const memoryTableCases: readonly ConformanceCase[] = Object.freeze([
  // SET_MEM_TABLE: "the fds for the regions are passed ... one per region"; at most 8 regions.
  {
    id: 'backend/memory/table-fd-count-mismatch-rejected',
    title: 'SET_MEM_TABLE with nregions > 8 or an fd count ≠ nregions is refused and its fds closed',
    area: 'memory', requirements: ['VU-MEM-001'], level: 'MUST', role: 'backend',
    spec: { doc: 'vhost-user', anchor: 'SET_MEM_TABLE', quote: 'The memory table has at most 8 regions (VHOST_MEMORY_BASELINE_NREGIONS), and one fd is passed per region.' },
    description: 'Three tables with NEED_REPLY: 9 regions with 9 pipe fds; 1 region with a memfd plus an extra pipe fd; 2 regions with only 1 memfd. Each must be refused; every pipe must hang up.',
    timeoutMs: 40_000,
    async run(ctx) {
      const checks: CheckResult[] = [];
      const regions = (n: number): MemoryRegion[] => Array.from({ length: n }, (_, i) => region(BigInt(i) * 0x10_0000n, 0x1_0000n));
      {
        const s = await memSession(ctx);
        const probes = Array.from({ length: 9 }, () => new FdProbe());
        const o = await sendForAck(s, FrontendRequest.SET_MEM_TABLE, memoryTable.encode({ regions: regions(9) }), probes.map((p) => p.writeFd));
        checks.push(expectRefused('with nregions 9', FrontendRequest.SET_MEM_TABLE, o));
        const open = await stillOpen(probes, ctx.waitMs);
        if (open.length > 0) checks.push(mismatch('all 9 fds of a 9-region SET_MEM_TABLE are closed', `${open.length} still open after ${ctx.waitMs} ms`));
        s.close();
      }
      {
        const s = await memSession(ctx);
        const fd = memfdCreate('vhostlab-one', 0x1_0000);
        const probe = new FdProbe();
        try {
          const o = await sendForAck(s, FrontendRequest.SET_MEM_TABLE, memoryTable.encode({ regions: regions(1) }), [fd, probe.writeFd]);
          checks.push(expectRefused('with 1 region and 2 fds', FrontendRequest.SET_MEM_TABLE, o));
        } finally {
          closeFd(fd);
          s.close();
        }
        const open = await stillOpen([probe], ctx.waitMs);
        if (open.length > 0) checks.push(mismatch('the surplus fd of a 1-region SET_MEM_TABLE is closed', `still open after ${ctx.waitMs} ms`));
      }
      checks.push(await refusedTable(ctx, 'with 2 regions and 1 fd', regions(2), [0x1_0000]).then((r) => r));
      return verdictOf(...checks);
    },
  },
  // QEMU sends `8 + 32·n` bytes, not the full 264-byte struct (CHECKLIST D20).
  {
    id: 'backend/memory/table-exact-size-accepted',
    title: 'SET_MEM_TABLE of exactly 8 + 32·n bytes is accepted for n = 1, 3, 8',
    area: 'memory', requirements: ['VU-MEM-002'], level: 'INTEROP', role: 'backend',
    spec: { doc: 'vhost-user', anchor: 'Memory regions description', quote: 'A memory table is num regions, padding, then that many region descriptions.' },
    description: 'Sends three tables of 1, 3 and 8 memfd regions, each exactly 8 + 32·n bytes, with NEED_REPLY: each must be acked 0.',
    async run(ctx) {
      const s = await memSession(ctx);
      const checks: CheckResult[] = [];
      for (const n of [1, 3, 8]) {
        const mem = MemfdGuestMemory.create(Array.from({ length: n }, (_, i) => ({ guestPhysAddr: 0x1_0000_0000 + i * 0x20_0000, size: 0x1_0000 })));
        try {
          const body = memoryTable.encode({ regions: mem.regions.map((r) => region(BigInt(r.guestPhysAddr), BigInt(r.size), BigInt(r.mmapOffset), BigInt(r.userAddr))) });
          const o = await sendForAck(s, FrontendRequest.SET_MEM_TABLE, body, mem.regions.map((r) => r.fd!));
          checks.push(expectAccepted(`with ${n} region(s) in ${body.byteLength} bytes`, FrontendRequest.SET_MEM_TABLE, o));
        } finally {
          mem.close();
        }
        if (checks.at(-1)) break;
      }
      return verdictOf(...checks);
    },
  },
  // "Memory access": GPA X of region r lives at mmap(fd)[mmap_offset + X − guest_phys_addr]; ring
  // addresses are user addresses (QVAs), descriptor addresses GPAs.
  {
    id: 'backend/memory/translation-offset-and-qva',
    title: 'Addresses translate through mmap_offset, user addresses for rings and GPAs for buffers',
    area: 'memory', requirements: ['VU-MEM-003', 'VU-MEM-004'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Memory access', quote: 'Guest address X of a region maps to offset mmap_offset + (X − guest_phys_addr) in its fd; ring addresses are front-end virtual addresses, descriptor addresses guest-physical.' },
    description: 'Two regions with mmap offsets 0x7000 and 0x3000, user addresses far from any GPA and in the opposite order; the RX ring lives in one region, the TX ring in the other; frames must loop intact.',
    async run(ctx) {
      const regions = [
        { guestPhysAddr: 0x4000_0000, size: 0x3_0000, userAddr: 0x5a5a_0000_0000, mmapOffset: 0x7000 },
        { guestPhysAddr: 0x8000_0000, size: 0x20_0000, userAddr: 0x10_0000_0000, mmapOffset: 0x3000 },
      ];
      return withRig(ctx, { regions }, async (rig) => {
        const txDesc = rig.q(1).driver.layout.descAddr;
        if (txDesc < regions[1].guestPhysAddr) ctx.note('both rings ended up in the first region');
        await rig.startAll();
        return verdictOf(await loopCheck(rig, 0, { count: 64, size: 256, timeoutMs: ctx.waitMs, signal: ctx.signal }));
      });
    },
  },
  // SET_MEM_TABLE: "Sets the memory map regions on the back-end so it can translate the vring
  // addresses"; a new table replaces the old one (QEMU resends it on memory hot-plug).
  {
    id: 'backend/memory/table-replaced-while-running',
    title: 'A new SET_MEM_TABLE under running rings replaces the old memory',
    area: 'memory', requirements: ['VU-MEM-006', 'VU-MEM-007'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'SET_MEM_TABLE', quote: 'A new memory table replaces the previous one; the back-end re-translates ring addresses before using them again.' },
    description: 'With rings running, sends a table whose existing regions come from new memfds at other offsets (contents copied) plus one hot-plugged region; the old memfd is then poisoned; frames must still loop intact.',
    timeoutMs: 30_000,
    async run(ctx) {
      const r = await tableSwap(ctx);
      return verdictOf(r.setup, r.traffic);
    },
  },
  // CVE-2018-1059 class: descriptors pointing outside every region are never dereferenced.
  {
    id: 'backend/memory/descriptor-outside-memory',
    title: 'Descriptors outside every region are not dereferenced and do not crash the back-end',
    area: 'memory', requirements: ['VU-MEM-008'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Memory access', quote: 'The back-end may only access memory inside the regions the front-end gave it.' },
    description: 'Publishes TX chains at the GPA just past the region, at region end − 1 with 4096 bytes, and at 2^64 − 16, and an RX buffer past the region; the back-end must survive and keep serving.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 4, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        const last = rig.memory.regions.at(-1)!;
        const end = last.guestPhysAddr + last.size;
        rig.q(0).driver.addChain([{ addr: end + PAGE, len: 2048, writable: true }]);
        rig.publish(0);
        for (const seg of [{ addr: end, len: 64 }, { addr: end - 1, len: 4096 }, { addr: (1n << 64n) - 16n, len: 64 }]) {
          rig.q(1).driver.addChain([{ ...seg, writable: false }]);
        }
        rig.publish(1, true);
        await sleep(ctx.quietMs, ctx.signal);
        if (ctx.peerAlive() === false) return fail('the back-end survives descriptors outside guest memory', 'it exited');
        return verdictOf(await stillServes(rig.session, () => ctx.openSession()));
      });
    },
  },
  // GET_MAX_MEM_SLOTS: "the back-end replies with the maximum number of memory slots".
  {
    id: 'backend/memory/get-max-mem-slots',
    title: 'GET_MAX_MEM_SLOTS answers a u64 ≥ 1',
    area: 'memory', requirements: ['VU-MEM-011'], level: 'MUST', role: 'backend', needs: { protocolFeatures: [SLOTS] },
    spec: { doc: 'vhost-user', anchor: 'GET_MAX_MEM_SLOTS', quote: 'The back-end replies with the maximum number of memory slots it supports.' },
    description: 'Negotiates CONFIGURE_MEM_SLOTS and asks GET_MAX_MEM_SLOTS.',
    async run(ctx) {
      const s = await memSession(ctx, [SLOTS]);
      const n = await s.getMaxMemSlots();
      return n >= 1n ? pass(`GET_MAX_MEM_SLOTS = ${n}`) : fail('GET_MAX_MEM_SLOTS ≥ 1', `${n}`);
    },
  },
  // ADD_MEM_REG: one region, one fd; the front-end must not add more than GET_MAX_MEM_SLOTS.
  {
    id: 'backend/memory/add-mem-reg-up-to-limit',
    title: 'ADD_MEM_REG works up to GET_MAX_MEM_SLOTS and refuses one more',
    area: 'memory', requirements: ['VU-MEM-012'], level: 'MUST', role: 'backend', needs: { protocolFeatures: [SLOTS] },
    spec: { doc: 'vhost-user', anchor: 'ADD_MEM_REG', quote: 'Adds one memory region (one fd); the number of regions must not exceed GET_MAX_MEM_SLOTS.' },
    description: 'Adds GET_MAX_MEM_SLOTS one-page regions (all acked 0), then one more (must be refused).',
    timeoutMs: 60_000,
    async run(ctx) {
      const s = await memSession(ctx, [SLOTS]);
      const max = Number(await s.getMaxMemSlots());
      if (max > 1024) return skip(`GET_MAX_MEM_SLOTS is ${max}; the case adds at most 1024 regions`);
      const fd = memfdCreate('vhostlab-slots', (max + 1) * PAGE);
      try {
        for (let i = 0; i <= max; i++) {
          const body = memRegion.encode({ region: region(0x1_0000_0000n + BigInt(i) * 0x10_0000n, BigInt(PAGE), BigInt(i * PAGE)) });
          const o = await sendForAck(s, FrontendRequest.ADD_MEM_REG, body, [fd]);
          const c = i < max ? expectAccepted(`region ${i + 1} of ${max}`, FrontendRequest.ADD_MEM_REG, o) : expectRefused(`region ${max + 1} (one more than GET_MAX_MEM_SLOTS)`, FrontendRequest.ADD_MEM_REG, o);
          if (c) return fail(c.expected, c.actual);
        }
      } finally {
        closeFd(fd);
      }
      return pass();
    },
  },
  // REM_MEM_REG: "the region is identified by guest address, user address and size; the
  // mmap_offset is ignored; an fd sent with it is closed".
  {
    id: 'backend/memory/rem-mem-reg-ignores-mmap-offset',
    title: 'REM_MEM_REG matches by GPA, user address and size, and closes a stray fd',
    area: 'memory', requirements: ['VU-MEM-013'], level: 'MUST', role: 'backend', needs: { protocolFeatures: [SLOTS] },
    spec: { doc: 'vhost-user', anchor: 'REM_MEM_REG', quote: 'The region to remove is identified by its guest address, user address and size; mmap_offset is ignored, and an fd passed with the message must be closed.' },
    description: 'Fills every slot with ADD_MEM_REG, removes one with a wrong mmap_offset and a pipe fd attached (acked 0, pipe hangs up), then adds a region again: it must fit.',
    timeoutMs: 60_000,
    async run(ctx) {
      const s = await memSession(ctx, [SLOTS]);
      const max = Math.min(Number(await s.getMaxMemSlots()), 1024);
      const fd = memfdCreate('vhostlab-rem', (max + 1) * PAGE);
      const reg = (i: number, off = i * PAGE): MemoryRegion => region(0x1_0000_0000n + BigInt(i) * 0x10_0000n, BigInt(PAGE), BigInt(off));
      try {
        for (let i = 0; i < max; i++) {
          const c = expectAccepted(`region ${i + 1}`, FrontendRequest.ADD_MEM_REG, await sendForAck(s, FrontendRequest.ADD_MEM_REG, memRegion.encode({ region: reg(i) }), [fd]));
          if (c) return fail(c.expected, `precondition: ${c.actual}`);
        }
        const probe = new FdProbe();
        const victim = Math.floor(max / 2);
        const rem = await sendForAck(s, FrontendRequest.REM_MEM_REG, memRegion.encode({ region: reg(victim, 0x123 * PAGE) }), [probe.writeFd]);
        const remCheck = expectAccepted(`of region ${victim} with a wrong mmap_offset`, FrontendRequest.REM_MEM_REG, rem);
        const open = await stillOpen([probe], ctx.waitMs);
        const addBack = expectAccepted('after a slot was freed', FrontendRequest.ADD_MEM_REG, await sendForAck(s, FrontendRequest.ADD_MEM_REG, memRegion.encode({ region: reg(max) }), [fd]));
        return verdictOf(remCheck, open.length > 0 ? mismatch('the fd attached to REM_MEM_REG is closed', `still open after ${ctx.waitMs} ms`) : undefined, addBack);
      } finally {
        closeFd(fd);
      }
    },
  },
  // Newest text: "the front-end MUST NOT send overlapping regions"; a back-end should not accept
  // an ambiguous translation.
  {
    id: 'backend/memory/overlapping-regions-rejected',
    title: 'Regions overlapping in guest-physical or user address space are refused',
    area: 'memory', requirements: ['VU-MEM-014'], level: 'ROBUST', role: 'backend',
    spec: { doc: 'vhost-user', anchor: 'Memory regions description', quote: 'Regions must not overlap (T1: the front-end must not send overlapping regions).' },
    description: 'Two SET_MEM_TABLEs with NEED_REPLY: regions whose GPA ranges overlap, and regions whose user-address ranges overlap; both must be refused.',
    timeoutMs: 30_000,
    async run(ctx) {
      const gpa = await rejectsTable(ctx, 'GPA-overlapping regions', [region(0x1000_0000n, 0x2_0000n), region(0x1001_0000n, 0x2_0000n)], [0x2_0000, 0x2_0000]);
      const qva = await rejectsTable(ctx, 'user-address-overlapping regions', [region(0x1000_0000n, 0x2_0000n, 0n, 0x7000_0000_0000n), region(0x2000_0000n, 0x2_0000n, 0n, 0x7000_0001_0000n)], [0x2_0000, 0x2_0000]);
      return verdictOf(gpa, qva);
    },
  },
  {
    id: 'backend/memory/empty-region-rejected',
    title: 'A region of size 0 is refused',
    area: 'memory', requirements: ['VU-MEM-010'], level: 'ROBUST', role: 'backend',
    spec: { doc: 'vhost-user', anchor: 'Memory regions description', quote: 'A region describes memory_size bytes of guest memory (an empty region describes nothing and cannot be mapped).' },
    description: 'SET_MEM_TABLE with one region of size 0 (mmap_offset 4096) and NEED_REPLY: refused; the back-end keeps serving.',
    async run(ctx) {
      return verdictOf(await rejectsTable(ctx, 'an empty region', [region(0x1000_0000n, 0n, BigInt(PAGE))], [2 * PAGE]));
    },
  },
  {
    id: 'backend/memory/out-of-file-region-rejected',
    title: 'A region beyond the end of its file, or whose offset + size overflows, is refused',
    area: 'memory', requirements: ['VU-MEM-010'], level: 'ROBUST', role: 'backend',
    spec: { doc: 'vhost-user', anchor: 'Memory access', quote: 'A region is mmap_offset + memory_size bytes into its fd; a region the fd cannot back is invalid (CVE-2020-10722 class).' },
    description: 'SET_MEM_TABLE with NEED_REPLY: a 1 MiB region in a 64 KiB memfd, then mmap_offset 2^64 − 4096 with size 8192; both refused; the back-end keeps serving.',
    timeoutMs: 30_000,
    async run(ctx) {
      const beyond = await rejectsTable(ctx, 'a 1 MiB region in a 64 KiB file', [region(0x1000_0000n, 0x10_0000n)], [0x1_0000]);
      const overflow = await rejectsTable(ctx, 'mmap_offset 2^64 − 4096 and size 8192', [region(0x1000_0000n, 0x2000n, (1n << 64n) - 4096n)], [0x1_0000]);
      return verdictOf(beyond, overflow);
    },
  },
  {
    id: 'backend/memory/misaligned-region-handled',
    title: 'A region not aligned to the page size is refused or handled without fault',
    area: 'memory', requirements: ['VU-MEM-010'], level: 'ROBUST', role: 'backend',
    spec: { doc: 'vhost-user', anchor: 'Memory access', quote: 'Regions are mmapped from their fd; QEMU always sends page-aligned regions, others must not break the back-end.' },
    description: 'SET_MEM_TABLE with one region at GPA 0x10000800, size 0x10001, mmap_offset 0x801, with NEED_REPLY: any answer is fine; the back-end must survive and keep serving.',
    async run(ctx) {
      const s = await memSession(ctx);
      const fd = memfdCreate('vhostlab-misaligned', 0x2_0000);
      let outcome;
      try {
        outcome = await sendForAck(s, FrontendRequest.SET_MEM_TABLE, memoryTable.encode({ regions: [region(0x1000_0800n, 0x1_0001n, 0x801n)] }), [fd]);
      } finally {
        closeFd(fd);
      }
      ctx.note(`misaligned region: ${describeOutcome(outcome)}`);
      if (ctx.peerAlive() === false) return fail('the back-end survives a misaligned region', 'it exited');
      return verdictOf(await stillServes(s, () => ctx.openSession()));
    },
  },
]);
