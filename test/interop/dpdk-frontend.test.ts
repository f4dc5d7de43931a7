/**
 * Interop: vhostlab's front-end against DPDK 22.11's vhost back-end (testpmd net_vhost0,
 * macswap), with DPDK listening and with DPDK in client mode connecting to vhostlab. Runs the
 * real CLI (`bin/vhostlab.cjs`, built by `npm test`'s pretest step).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { VirtioFeature, hasFeature } from '../../fakes/wire/index.js';
import { dpdkMissing, scratchDir, startVhostBackend, type RunningTestpmd } from './support/dpdk.js';

const run = promisify(execFile);
const cli = new URL('../../bin/vhostlab.cjs', import.meta.url).pathname;

async function vhostlab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { timeout: 120_000, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe.skipIf(dpdkMissing !== undefined)('DPDK vhost back-end (testpmd net_vhost0)', () => {
  let peer: RunningTestpmd | undefined;
  let scratch: ReturnType<typeof scratchDir> | undefined;
  afterEach(async () => {
    await peer?.stop();
    if (peer && scratch && process.env.VHOSTLAB_KEEP_LOGS) console.log(peer.peer.readLog());
    scratch?.cleanup();
    peer = undefined;
    scratch = undefined;
  });

  it('probe --json lists VERSION_1 and PROTOCOL_FEATURES with DPDK listening', async () => {
    scratch = scratchDir();
    peer = startVhostBackend(scratch.socket, scratch.dir);
    const r = await vhostlab(['probe', '--socket', scratch.socket, '--json', '--timeout', '20000']);
    expect(r.stderr + peer.peer.readLog(2000)).toBeDefined();
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.features.names).toContain('VERSION_1');
    expect(info.features.names).toContain('PROTOCOL_FEATURES');
    expect(info.protocolFeatures.names).toContain('REPLY_ACK');
    expect(info.features.hex).toMatch(/^0x[0-9a-f]+$/);
    expect(info.queues).toBeGreaterThanOrEqual(1);
    expect(info.maxMemSlots).toBe(8); // DPDK 22.11 offers no CONFIGURE_MEM_SLOTS
  });

  it('traffic: every frame returns intact with DPDK listening', async () => {
    scratch = scratchDir();
    peer = startVhostBackend(scratch.socket, scratch.dir);
    const r = await vhostlab(['traffic', '--socket', scratch.socket, '--packets', '1000000', '--size', '64', '--json', '--timeout', '20000']);
    expect(r.code, `${r.stderr}\n${peer.peer.readLog(4000)}`).toBe(0);
    const t = JSON.parse(r.stdout);
    expect(t).toMatchObject({ sent: 1000000, received: 1000000, lost: 0, duplicated: 0, corrupted: 0, violations: [] });
    expect(t.pps).toBeGreaterThan(0);
  });

  it('traffic over packed virtqueues', async () => {
    scratch = scratchDir();
    peer = startVhostBackend(scratch.socket, scratch.dir);
    const r = await vhostlab(['traffic', '--socket', scratch.socket, '--packets', '200000', '--size', '64', '--packed', '--json', '--timeout', '20000']);
    expect(r.code, `${r.stderr}\n${peer.peer.readLog(4000)}`).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sent: 200000, received: 200000, lost: 0, duplicated: 0, corrupted: 0, violations: [] });
  });

  it('traffic over packed virtqueues with IN_ORDER: DPDK batches completions and every frame returns', async () => {
    scratch = scratchDir();
    peer = startVhostBackend(scratch.socket, scratch.dir);
    const r = await vhostlab(['traffic', '--socket', scratch.socket, '--packets', '200000', '--size', '64', '--packed', '--in-order', '--json', '--timeout', '20000']);
    expect(r.code, `${r.stderr}\n${peer.peer.readLog(4000)}`).toBe(0);
    const t = JSON.parse(r.stdout);
    expect(t).toMatchObject({ sent: 200000, received: 200000, lost: 0, duplicated: 0, corrupted: 0, violations: [] });
    // DPDK's vhost offers IN_ORDER; without it this test would not exercise the batched path.
    expect(hasFeature(BigInt(t.features), VirtioFeature.IN_ORDER)).toBe(true);
  });

  it('traffic at 1518 bytes on two queue pairs', async () => {
    scratch = scratchDir();
    peer = startVhostBackend(scratch.socket, scratch.dir, { queues: 2 });
    const r = await vhostlab(['traffic', '--socket', scratch.socket, '--packets', '50000', '--size', '1518', '--queues', '2', '--json', '--timeout', '20000']);
    expect(r.code, `${r.stderr}\n${peer.peer.readLog(4000)}`).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sent: 50000, received: 50000, lost: 0, corrupted: 0, violations: [] });
  });

  it('client mode: DPDK connects to vhostlab, and reconnects for a second traffic run and a probe', async () => {
    scratch = scratchDir();
    const socket = scratch.socket;
    // vhostlab listens first; DPDK (client=1) connects and, after the session ends, reconnects.
    const first = vhostlab(['traffic', '--listen', '--socket', socket, '--packets', '1000000', '--size', '64', '--json', '--timeout', '30000']);
    await new Promise((r) => setTimeout(r, 300));
    peer = startVhostBackend(socket, scratch.dir, { client: true });
    const r1 = await first;
    expect(r1.code, `${r1.stderr}\n${peer.peer.readLog(4000)}`).toBe(0);
    expect(JSON.parse(r1.stdout)).toMatchObject({ sent: 1000000, received: 1000000, lost: 0, duplicated: 0, corrupted: 0, violations: [] });

    const r2 = await vhostlab(['traffic', '--listen', '--socket', socket, '--packets', '100000', '--size', '64', '--json', '--timeout', '30000']);
    expect(r2.code, `${r2.stderr}\n${peer.peer.readLog(4000)}`).toBe(0);
    expect(JSON.parse(r2.stdout)).toMatchObject({ sent: 100000, received: 100000, lost: 0, corrupted: 0 });

    // A third session: probe in client mode sees what DPDK offers.
    const r3 = await vhostlab(['probe', '--listen', '--socket', socket, '--json', '--timeout', '30000']);
    expect(r3.code, `${r3.stderr}\n${peer.peer.readLog(4000)}`).toBe(0);
    const info = JSON.parse(r3.stdout);
    expect(info.features.names).toContain('VERSION_1');
    expect(info.features.names).toContain('PROTOCOL_FEATURES');
    expect(peer.peer.running).toBe(true); // the same DPDK process served all three sessions
  });

  it('probe reports a clear error and exit 3 when nothing listens', async () => {
    scratch = scratchDir();
    const r = await vhostlab(['probe', '--socket', scratch.socket, '--timeout', '300']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot reach a back-end/);
  });
});
