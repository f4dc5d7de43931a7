/**
 * `vhostlab traffic`: brings a net device up through a looping back-end and counts what comes
 * back — sent, received, lost, duplicated, corrupted frames, lifetime violations, packets/s.
 * @module
 */
import type { Command } from 'commander';
import { NetDevice, runTraffic, type TrafficResult } from '../../fakes/frontend/index.js';
import { ExitCode } from '../exit.js';
import { addSessionOptions, parsePositiveInt, withSession, type SessionCliOptions } from '../session-options.js';

interface TrafficCliOptions extends SessionCliOptions {
  packets: number;
  size: number;
  queues: number;
  queueSize: number;
  packed?: boolean;
  json?: boolean;
}

/** Registers `traffic`. */
export function register(program: Command): void {
  addSessionOptions(program.command('traffic'))
    .description('send numbered frames through a looping back-end and count what returns')
    .option('-n, --packets <n>', 'frames to send', parsePositiveInt, 100_000)
    .option('--size <bytes>', 'frame size without the virtio-net header (24–2036)', parsePositiveInt, 64)
    .option('-q, --queues <n>', 'queue pairs to use (needs MQ for more than 1)', parsePositiveInt, 1)
    .option('--queue-size <n>', 'descriptors per ring', parsePositiveInt, 256)
    .option('--packed', 'use packed virtqueues (VIRTIO_F_RING_PACKED)')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText('after', `
The back-end must loop every frame it receives on TX back into RX (DPDK testpmd
--forward-mode=macswap, or 'vhostlab backend'). Each frame carries a sequence number and a
checksum; the run ends when every frame has come back or nothing arrived for 2 s.
Exit 0 when every frame came back intact with no lifetime violation, 1 otherwise,
3 when the back-end cannot be reached.

Example:
  vhostlab traffic --socket /tmp/vhost.sock --packets 1000000 --size 64 --json`)
    .action(async (o: TrafficCliOptions) => {
      const result = await withSession(o, async (session) => {
        const device = await NetDevice.start(session, { queuePairs: o.queues, queueSize: o.queueSize, maxFrame: Math.max(1518, o.size), packed: o.packed });
        try {
          const progress = process.stderr.isTTY
            ? (r: TrafficResult) => process.stderr.write(`\r  sent ${r.sent}  received ${r.received}  ${(r.pps / 1e6).toFixed(2)} Mpps   `)
            : undefined;
          const r = await runTraffic(device, { packets: o.packets, size: o.size, onProgress: progress });
          if (progress) process.stderr.write('\n');
          await device.stop();
          return r;
        } finally {
          device.close();
        }
      });
      const clean = result.received === result.sent && result.lost === 0 && result.duplicated === 0 && result.corrupted === 0 && result.violations.length === 0;
      if (o.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        process.stdout.write([
          `sent ${result.sent}  received ${result.received}  lost ${result.lost}  duplicated ${result.duplicated}  reordered ${result.reordered}  corrupted ${result.corrupted}`,
          `violations ${result.violations.length}${result.violations.slice(0, 10).map((v) => `\n  ${v.rule}: ${v.detail}`).join('')}`,
          `${(result.pps / 1e6).toFixed(3)} Mpps over ${result.durationMs} ms`,
        ].join('\n') + '\n');
      }
      if (!clean) process.exitCode = ExitCode.FAILED;
    });
}
