/**
 * Interop: DPDK 22.11's virtio-user front-end (testpmd `net_virtio_user0`) passes traffic through
 * the reference back-end (`vhostlab backend`, the real CLI): split and packed rings, one and two
 * queue pairs, back-end listening and back-end in `--client` mode with virtio-user `server=1`,
 * and a SIGKILL of the back-end mid-traffic followed by a restart that virtio-user survives.
 * testpmd runs `flowgen`, which both sends and receives, so its port statistics show traffic in
 * both directions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { PeerProcess } from '../../conformance/peer/peer-process.js';
import { dpdkMissing, scratchDir, startVirtioUser, type RunningTestpmd } from './support/dpdk.js';

const cli = new URL('../../bin/vhostlab.cjs', import.meta.url).pathname;

/** Starts `vhostlab backend` as a peer process (log file, stopped by PID). */
function startBackend(socket: string, dir: string, args: string[] = []): PeerProcess {
  return PeerProcess.start({ command: `${process.execPath} ${cli} backend --socket {socket} ${args.join(' ')}`, socket, logDir: dir, label: 'vhostlab-backend' });
}

/** Last RX/TX packet counters testpmd printed for port 0. */
function portStats(log: string): { rx: number; tx: number } {
  const rx = [...log.matchAll(/RX-packets:\s+(\d+)/g)];
  const tx = [...log.matchAll(/TX-packets:\s+(\d+)/g)];
  return { rx: rx.length ? Number(rx[rx.length - 1][1]) : 0, tx: tx.length ? Number(tx[tx.length - 1][1]) : 0 };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until both counters have grown past `min`, or `timeoutMs` passed; returns the last stats. */
async function waitForTraffic(peer: RunningTestpmd, min: number, base = { rx: 0, tx: 0 }, timeoutMs = 30_000): Promise<{ rx: number; tx: number }> {
  const deadline = Date.now() + timeoutMs;
  let s = portStats(peer.peer.readLog(256 * 1024));
  while (Date.now() < deadline && !(s.rx - base.rx > min && s.tx - base.tx > min)) {
    await sleep(500);
    s = portStats(peer.peer.readLog(256 * 1024));
  }
  return s;
}

async function waitForSocket(path: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path) && Date.now() < deadline) await sleep(50);
}

describe.skipIf(dpdkMissing !== undefined)('DPDK virtio-user through vhostlab backend', () => {
  let fe: RunningTestpmd | undefined;
  let be: PeerProcess | undefined;
  let scratch: ReturnType<typeof scratchDir> | undefined;
  afterEach(async () => {
    await fe?.stop();
    await be?.stop();
    if (process.env.VHOSTLAB_KEEP_LOGS && be) console.log(be.readLog(8000));
    scratch?.cleanup();
    fe = undefined;
    be = undefined;
    scratch = undefined;
  });

  const cases = [
    { name: 'split, 1 queue pair, back-end listening', packed: false, queues: 1, client: false },
    { name: 'packed, 1 queue pair, back-end listening', packed: true, queues: 1, client: false },
    { name: 'split, 2 queue pairs, back-end listening', packed: false, queues: 2, client: false },
    { name: 'packed, 2 queue pairs, back-end listening', packed: true, queues: 2, client: false },
    { name: 'split, back-end --client, virtio-user server=1', packed: false, queues: 1, client: true },
    { name: 'packed, back-end --client, virtio-user server=1', packed: true, queues: 1, client: true },
  ];
  for (const c of cases) {
    it(`moves traffic both ways: ${c.name}`, async () => {
      scratch = scratchDir();
      const beArgs = [`--queues ${c.queues}`, ...(c.client ? ['--client'] : [])];
      if (!c.client) {
        be = startBackend(scratch.socket, scratch.dir, beArgs);
        await waitForSocket(scratch.socket);
      }
      fe = startVirtioUser(scratch.socket, scratch.dir, { packed: c.packed, queues: c.queues, server: c.client, forwardMode: 'flowgen' });
      if (c.client) be = startBackend(scratch.socket, scratch.dir, beArgs);
      const backend = be!;
      const s = await waitForTraffic(fe, 100_000);
      const logs = `${backend.readLog(4000)}\n${fe.peer.readLog(4000)}`;
      expect(s.tx, logs).toBeGreaterThan(100_000);
      expect(s.rx, logs).toBeGreaterThan(100_000);
      expect(backend.readLog()).toContain(c.packed ? 'packed' : 'split');
      expect(backend.readLog()).not.toContain('violation');
    });
  }

  it('survives a SIGKILL of the back-end mid-traffic: restarted, virtio-user reconnects and traffic resumes', async () => {
    scratch = scratchDir();
    fe = startVirtioUser(scratch.socket, scratch.dir, { server: true, forwardMode: 'flowgen' });
    be = startBackend(scratch.socket, scratch.dir, ['--client']);
    const before = await waitForTraffic(fe, 100_000);
    expect(before.rx, be.readLog(4000)).toBeGreaterThan(100_000);
    be.kill('SIGKILL');
    await be.waitForExit(5000);
    await sleep(1500);
    const during = portStats(fe.peer.readLog(256 * 1024));
    be = startBackend(scratch.socket, scratch.dir, ['--client']);
    const after = await waitForTraffic(fe, 100_000, during);
    const logs = `${be.readLog(4000)}\n${fe.peer.readLog(6000)}`;
    expect(after.rx - during.rx, logs).toBeGreaterThan(100_000);
    expect(after.tx - during.tx, logs).toBeGreaterThan(100_000);
  });
});
