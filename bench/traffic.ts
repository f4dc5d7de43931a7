/**
 * Front-end packet rate: `vhostlab traffic` against DPDK's vhost back-end (testpmd macswap),
 * and DPDK's own front-end (virtio-user) against the same back-end, measured in the same run.
 *
 * Both sides loop: vhostlab sends numbered frames and counts them back; DPDK's front-end runs
 * `io` forwarding seeded with `--tx-first`, so frames bounce between the two testpmds. Each
 * number is frames returned per second, i.e. the per-direction rate of a loop. The back-end's
 * forwarding lcore is core 1; the front-end (Node, or virtio-user's forwarding lcore) gets core 0.
 * @module
 */
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PeerProcess } from '../conformance/peer/peer-process.js';
import { findTestpmd, testpmdVhostCommand, testpmdVirtioUserCommand } from '../conformance/peer/dpdk.js';
import type { BenchContext, BenchResult } from './types.js';

const run = promisify(execFile);
const cli = new URL('../../bin/vhostlab.cjs', import.meta.url).pathname;

/** Runs the traffic benchmark; returns no rows (and says why) when DPDK is missing. */
export async function benchTraffic(ctx: BenchContext): Promise<BenchResult[]> {
  const testpmd = findTestpmd();
  if (!testpmd) {
    ctx.log('traffic: dpdk-testpmd not installed; skipped');
    return [];
  }
  const out: BenchResult[] = [];
  const sizes = [64, 1518];
  for (const size of sizes) {
    const packets = ctx.quick ? 500_000 : size === 64 ? 5_000_000 : 2_000_000;
    const ours = await vhostlabRate(ctx, testpmd, size, packets);
    out.push({ name: 'frontend-loop-pps', unit: 'pps', value: ours, params: { impl: 'vhostlab', size, ring: 'split', backend: 'dpdk-vhost' } });
    ctx.log(`traffic: vhostlab ${size} B: ${(ours / 1e6).toFixed(2)} Mpps`);
    const theirs = await dpdkFrontendRate(ctx, testpmd, size);
    out.push({ name: 'frontend-loop-pps', unit: 'pps', value: theirs, params: { impl: 'dpdk-virtio-user', size, ring: 'split', backend: 'dpdk-vhost' } });
    ctx.log(`traffic: DPDK virtio-user ${size} B: ${(theirs / 1e6).toFixed(2)} Mpps`);
    out.push({ name: 'frontend-loop-ratio', unit: 'ratio', value: theirs > 0 ? round3(ours / theirs) : 0, params: { impl: 'vhostlab', size, ring: 'split', of: 'vhostlab/dpdk-virtio-user', ...(size === 64 ? { goal: 0.5 } : {}) } });
  }
  return out;
}

async function withBackend<T>(ctx: BenchContext, testpmd: string, tag: string, body: (socket: string) => Promise<T>): Promise<T> {
  const socket = join(ctx.dir, `${tag}.sock`);
  const backend = PeerProcess.start({ command: testpmdVhostCommand(testpmd, { lcores: '0,1' }), socket, logDir: ctx.dir, label: `vhost-${tag}` });
  try {
    await waitForPath(socket, 20_000, backend);
    return await body(socket);
  } finally {
    await backend.stop();
    rmSync(`/var/run/dpdk/${backend.id}`, { recursive: true, force: true });
  }
}

async function vhostlabRate(ctx: BenchContext, testpmd: string, size: number, packets: number): Promise<number> {
  return withBackend(ctx, testpmd, `vl${size}`, async (socket) => {
    const args = [cli, 'traffic', '--socket', socket, '--packets', String(packets), '--size', String(size), '--json', '--timeout', '30000'];
    // Pin Node to core 0; DPDK's forwarding lcore is core 1.
    let stdout: string;
    try {
      ({ stdout } = await run('taskset', ['-c', '0', process.execPath, ...args], { timeout: 300_000, maxBuffer: 16 << 20 }));
    } catch (err) {
      // Exit 1 means the run finished but something was lost or violated: still a measurement.
      const e = err as { stdout?: string; stderr?: string; code?: number };
      if (e.code !== 1 || !e.stdout) throw new Error(`vhostlab traffic failed (exit ${e.code}): ${e.stderr ?? ''}`);
      stdout = e.stdout;
    }
    const r = JSON.parse(stdout) as { pps: number; received: number; sent: number; violations: unknown[] };
    if (r.received !== r.sent) ctx.log(`traffic: warning: ${r.sent - r.received} of ${r.sent} frames did not come back`);
    if (r.violations.length > 0) ctx.log(`traffic: warning: ${r.violations.length} lifetime violations`);
    return r.pps;
  });
}

async function dpdkFrontendRate(ctx: BenchContext, testpmd: string, size: number): Promise<number> {
  return withBackend(ctx, testpmd, `dp${size}`, async (socket) => {
    // Forwarding lcore 0 (main lcore 1): `-l 0,1 --main-lcore 1`.
    const cmd = testpmdVirtioUserCommand(testpmd, { lcores: '0,1 --main-lcore 1', forwardMode: 'io', frameSize: size })
      // --tx-first seeds the loop with one burst; 128 frames keep both sides busy, as vhostlab's
      // traffic keeps up to a ring's worth in flight.
      .replace('--auto-start', '--auto-start --tx-first --burst=128');
    const fe = PeerProcess.start({ command: cmd, socket, logDir: ctx.dir, label: `virtio-user-${size}` });
    try {
      await new Promise((r) => setTimeout(r, ctx.quick ? 5000 : 9000));
      const pps = steadyRxPps(fe.readLog(1 << 20));
      if (pps === 0) ctx.log(`traffic: DPDK virtio-user reported no rate (${fe.describeExit()}); its log ends:\n${fe.readLog(1500)}`);
      return pps;
    } finally {
      await fe.stop();
      rmSync(`/var/run/dpdk/${fe.id}`, { recursive: true, force: true });
    }
  });
}

/** Median of testpmd's per-second "Rx-pps" samples, leaving out the first (warm-up). */
export function steadyRxPps(log: string): number {
  const samples = [...log.matchAll(/Rx-pps:\s+(\d+)/g)].map((m) => Number(m[1]));
  const steady = samples.slice(1).filter((v) => v > 0);
  if (steady.length === 0) return 0;
  steady.sort((a, b) => a - b);
  return steady[Math.floor(steady.length / 2)];
}

async function waitForPath(path: string, timeoutMs: number, peer: PeerProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (!peer.running) throw new Error(`testpmd ${peer.describeExit()} before creating ${path}:\n${peer.readLog(2000)}`);
    if (Date.now() > deadline) throw new Error(`testpmd did not create ${path} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
