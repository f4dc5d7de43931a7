/**
 * Interop: QEMU 7.2 with a real Linux guest drives vhostlab's own back-end (`vhostlab backend
 * --strict --violations FILE`, the real CLI) — issue 3, item 7. The guest pings a static
 * neighbour; the net loopback returns every frame, so the guest's RX counters show them.
 *
 * Asserted: the guest powered off by itself; init sent packets × pairs echo requests; guest
 * tx ≥ sent and rx ≥ sent (every frame came back), rx ≤ tx (nothing invented or duplicated);
 * and the strict back-end found no violation in what QEMU and the guest driver did (the
 * violations file exists and is empty).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PeerProcess } from '../../conformance/peer/peer-process.js';
import { scratchDir } from './support/dpdk.js';
import { qemuAvailable, startGuest, waitForSocket, type GuestRun } from './support/qemu-guest.js';

const PACKETS = 16;
const GUEST_TIMEOUT_MS = 120_000;
const cli = new URL('../../bin/vhostlab.cjs', import.meta.url).pathname;

const qemu = qemuAvailable();
if (qemu.reason) console.warn(`qemu-guest-backend: skipping the guest boots: ${qemu.reason}`);
const skipNote = qemu.reason ? ` [skipped: ${qemu.reason}]` : '';

let scratch: ReturnType<typeof scratchDir> | undefined;
let backend: PeerProcess | undefined;

afterEach(async (ctx) => {
  await backend?.stop();
  backend = undefined;
  if (ctx.task.result?.state !== 'fail') scratch?.cleanup();
  scratch = undefined;
});

/** Boots the guest against `vhostlab backend --strict`; returns the run and the violations file's text. */
async function runLoop(o: { qemuListens: boolean; queues: number }): Promise<{ run: GuestRun; violations: string; log: string }> {
  scratch = scratchDir('vhl-guest-be-');
  const { dir, socket } = scratch;
  const violationsFile = join(dir, 'violations.jsonl');
  const args = ['--strict', '--violations', violationsFile, '--queues', String(o.queues), ...(o.qemuListens ? ['--client'] : [])];
  backend = PeerProcess.start({ command: `${process.execPath} ${cli} backend --socket {socket} ${args.join(' ')}`, socket, logDir: dir, label: 'vhostlab-backend' });
  if (!o.qemuListens && !(await waitForSocket(socket, 20_000))) {
    throw new Error(`vhostlab backend did not listen on ${socket} (${backend.describeExit()}):\n${backend.readLog(4000)}`);
  }
  let run: GuestRun;
  try {
    run = await startGuest({ socketPath: socket, serverMode: o.qemuListens, packets: PACKETS, queues: o.queues, timeoutMs: GUEST_TIMEOUT_MS, logDir: dir });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- vhostlab backend log ---\n${backend.readLog(6000)}`);
  }
  await backend.stop();
  const violations = existsSync(violationsFile) ? readFileSync(violationsFile, 'utf8') : '<no violations file>';
  const log = backend.readLog(8000);
  console.info(
    `qemu-guest-backend (${o.qemuListens ? 'QEMU listens, backend --client' : 'backend listens'}, ${o.queues} queue pair(s), ${run.accel}): ` +
      `init after ${run.bootMs} ms, run ${run.durationMs} ms; guest tx=${run.result.txPackets} rx=${run.result.rxPackets}`,
  );
  return { run, violations, log };
}

function expectLoopedBack(r: { run: GuestRun; violations: string; log: string }, queues: number): void {
  const g = r.run.result;
  const ctx = `${JSON.stringify(g.raw)}\n--- backend log ---\n${r.log}`;
  expect(r.run.exitCode, ctx).toBe(0);
  expect(g.queues, ctx).toBe(queues);
  expect(g.sent, ctx).toBe(PACKETS * queues);
  expect(g.txPackets, ctx).toBeGreaterThanOrEqual(g.sent);
  expect(g.rxPackets, ctx).toBeGreaterThanOrEqual(g.sent);
  expect(g.rxPackets, ctx).toBeLessThanOrEqual(g.txPackets);
  expect(g.rxErrors, ctx).toBe(0);
  expect(r.violations, ctx).toBe('');
}

describe('QEMU guest over vhost-user-net against vhostlab backend --strict', () => {
  it.skipIf(Boolean(qemu.reason))(`backend listens, QEMU connects: ${PACKETS} echo requests come back, no violation${skipNote}`, async () => {
    expectLoopedBack(await runLoop({ qemuListens: false, queues: 1 }), 1);
  });

  it.skipIf(Boolean(qemu.reason))(`QEMU listens (server=on), backend --client connects${skipNote}`, async () => {
    expectLoopedBack(await runLoop({ qemuListens: true, queues: 1 }), 1);
  });

  it.skipIf(Boolean(qemu.reason))(`two queue pairs (queues=2, mq=on): traffic on both${skipNote}`, async () => {
    expectLoopedBack(await runLoop({ qemuListens: false, queues: 2 }), 2);
  });
});
