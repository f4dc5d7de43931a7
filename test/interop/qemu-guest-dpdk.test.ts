/**
 * Interop: QEMU 7.2 with a real Linux guest drives a vhost-user-net device whose back-end is DPDK's
 * (dpdk-testpmd, `net_vhost0`, macswap). This proves the guest harness (support/qemu-guest.ts)
 * that later runs against vhostlab's own back-end (issue 3, item 7).
 *
 * What is asserted, and why:
 * - `sent` equals packets × queue pairs: init really ran one ping per queue pair.
 * - guest `tx_packets` ≥ sent: every echo request left the guest driver. (≥, not =, because the
 *   kernel may add frames of its own; IPv6 is off and the neighbour is static, so in practice it
 *   is exactly `sent`.)
 * - guest `rx_packets` ≥ sent: macswap returns each frame to the guest with the MACs swapped, so
 *   each one reaches the guest's receive queue and is counted there (the IP stack then drops it,
 *   as it is addressed to the peer, but rx_packets counts it first).
 * - guest `rx_packets` ≤ `tx_packets`: a loopback cannot return more than it was given, so a
 *   duplicated descriptor would show here.
 * - testpmd's own counters match the guest's exactly: testpmd RX = guest TX, testpmd TX = guest
 *   RX. Both ends of the vhost-user data path agree, so nothing was lost or invented in between.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dpdkMissing, scratchDir, startVhostBackend, type RunningTestpmd } from './support/dpdk.js';
import { parseResultLine, qemuAvailable, startGuest, waitForSocket, type GuestRun } from './support/qemu-guest.js';

const PACKETS = 16;
const GUEST_TIMEOUT_MS = 120_000;
const TESTPMD_START_MS = 20_000;

const qemu = qemuAvailable();
const missing = [qemu.reason, dpdkMissing].filter(Boolean).join('; ');
if (missing) console.warn(`qemu-guest-dpdk: skipping the guest boots: ${missing}`);
const skipNote = missing ? ` [skipped: ${missing}]` : '';

/** Counters testpmd prints when it stops ("Accumulated forward statistics for all ports"). */
type TestpmdStats = { rxPackets: number; txPackets: number };

/** Reads the final counters from testpmd's log, or undefined when it printed none. */
function parseTestpmdStats(log: string): TestpmdStats | undefined {
  const at = log.lastIndexOf('Accumulated forward statistics for all ports');
  if (at < 0) return undefined;
  const block = log.slice(at, at + 1000);
  const rx = /RX-packets:\s*(\d+)/.exec(block);
  const tx = /TX-packets:\s*(\d+)/.exec(block);
  return rx && tx ? { rxPackets: Number(rx[1]), txPackets: Number(tx[1]) } : undefined;
}

/** Folder and peer of one case; cleaned in afterEach whatever happened. */
let scratch: ReturnType<typeof scratchDir> | undefined;
let backend: RunningTestpmd | undefined;

afterEach(async (ctx) => {
  await backend?.stop();
  backend = undefined;
  // Logs of a failing case stay for the post-mortem; the error message names the folder.
  if (ctx.task.result?.state !== 'fail') scratch?.cleanup();
  scratch = undefined;
});

/** Boots the guest against testpmd in the given socket arrangement and returns both sides' counters. */
async function runLoop(o: { qemuListens: boolean; queues: number }): Promise<{ run: GuestRun; stats: TestpmdStats | undefined }> {
  scratch = scratchDir('vhl-guest-');
  const { dir, socket } = scratch;
  // QEMU blocks at start-up until the socket is connected. When testpmd listens it must be up
  // first; when QEMU listens, testpmd (client=1) retries until QEMU's socket appears.
  backend = startVhostBackend(socket, dir, { client: o.qemuListens, queues: o.queues });
  if (!o.qemuListens && !(await waitForSocket(socket, TESTPMD_START_MS))) {
    throw new Error(`testpmd did not listen on ${socket} within ${TESTPMD_START_MS} ms (${backend.peer.describeExit()}):\n${backend.peer.readLog(4000)}`);
  }
  const run = await startGuest({ socketPath: socket, serverMode: o.qemuListens, packets: PACKETS, queues: o.queues, timeoutMs: GUEST_TIMEOUT_MS, logDir: dir });
  await backend.stop(); // SIGTERM: testpmd prints its accumulated counters on the way out
  const stats = parseTestpmdStats(backend.peer.readLog());
  console.info(
    `qemu-guest-dpdk (${o.qemuListens ? 'QEMU listens' : 'testpmd listens'}, ${o.queues} queue pair(s), ${run.accel}): ` +
      `init after ${run.bootMs} ms (guest uptime ${run.bootUptimeS} s), run ${run.durationMs} ms; ` +
      `guest tx=${run.result.txPackets} rx=${run.result.rxPackets}; testpmd rx=${stats?.rxPackets} tx=${stats?.txPackets}\n` +
      `  ${run.command.join(' ')}`,
  );
  return { run, stats };
}

function expectLoopedBack(run: GuestRun, stats: TestpmdStats | undefined, queues: number): void {
  const r = run.result;
  expect(run.exitCode).toBe(0); // the guest powered off by itself
  expect(r.queues).toBe(queues);
  expect(r.senders).toBe(queues);
  expect(r.sent).toBe(PACKETS * queues);
  expect(r.txPackets).toBeGreaterThanOrEqual(r.sent);
  expect(r.rxPackets).toBeGreaterThanOrEqual(r.sent);
  expect(r.rxPackets).toBeLessThanOrEqual(r.txPackets);
  expect(r.rxErrors).toBe(0);
  expect(stats).toBeDefined();
  expect(stats?.rxPackets).toBe(r.txPackets);
  expect(stats?.txPackets).toBe(r.rxPackets);
}

describe('QEMU guest over vhost-user-net against DPDK testpmd (macswap)', () => {
  it.skipIf(Boolean(missing))(`testpmd listens, QEMU connects: ${PACKETS} echo requests come back${skipNote}`, async () => {
    const { run, stats } = await runLoop({ qemuListens: false, queues: 1 });
    expectLoopedBack(run, stats, 1);
  });

  it.skipIf(Boolean(missing))(`QEMU listens (server=on), testpmd connects with client=1${skipNote}`, async () => {
    const { run, stats } = await runLoop({ qemuListens: true, queues: 1 });
    expectLoopedBack(run, stats, 1);
  });

  it.skipIf(Boolean(missing))(`two queue pairs (queues=2, mq=on): traffic on both${skipNote}`, async () => {
    const { run, stats } = await runLoop({ qemuListens: false, queues: 2 });
    expectLoopedBack(run, stats, 2);
  });
});

// The parsers the assertions above rely on; they need no peers, so they always run.
describe('parseTestpmdStats', () => {
  it('reads the accumulated block, not the per-port one before it', () => {
    const log = [
      'RX-packets: 9  RX-dropped: 0',
      '  +++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++',
      '  RX-packets: 32             RX-dropped: 0             RX-total: 32',
      '  TX-packets: 31             TX-dropped: 1             TX-total: 32',
    ].join('\n');
    expect(parseTestpmdStats(log)).toEqual({ rxPackets: 32, txPackets: 31 });
    expect(parseTestpmdStats('Port statistics ===\n RX-packets: 5')).toBeUndefined();
  });
});

describe('parseResultLine', () => {
  it('reads every counter of a result line', () => {
    const r = parseResultLine(
      'VHOSTLAB-RESULT tx_packets=16 rx_packets=15 tx_bytes=1568 rx_bytes=1470 tx_dropped=0 rx_dropped=1 rx_errors=0 sent=16 queues=1 senders=1 uptime=4.94',
    );
    expect(r).toMatchObject({ txPackets: 16, rxPackets: 15, rxBytes: 1470, rxDropped: 1, sent: 16, queues: 1, uptimeS: 4.94 });
  });

  it('rejects a truncated or non-numeric line', () => {
    expect(parseResultLine('VHOSTLAB-RESULT tx_packets=16 rx_packets=16')).toBeUndefined();
    expect(parseResultLine('VHOSTLAB-RESULT tx_packets=x rx_packets=16 tx_bytes=1 rx_bytes=1 tx_dropped=0 rx_dropped=0 rx_errors=0 sent=1 queues=1 senders=1 uptime=1')).toBeUndefined();
    expect(parseResultLine('[    4.9] some kernel line')).toBeUndefined();
  });
});
