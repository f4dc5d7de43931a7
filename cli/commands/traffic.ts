/**
 * `vhostlab traffic`: brings a net device up through a looping back-end and counts what comes
 * back — sent, received, lost, duplicated, corrupted frames, lifetime violations, packets/s.
 * @module
 */
import type { Command } from 'commander';
import { MAX_TRAFFIC_FRAME, MIN_FRAME, NetDevice, runTraffic, type TrafficResult } from '../../fakes/frontend/index.js';
import { VirtioFeature, featureMask, hasFeature } from '../../fakes/wire/index.js';
import { ExitCode, UsageError } from '../exit.js';
import { addSessionOptions, parsePositiveInt, withSession, type SessionCliOptions } from '../session-options.js';

interface TrafficCliOptions extends SessionCliOptions {
  packets: number;
  size: number;
  queues: number;
  queueSize: number;
  packed?: boolean;
  inOrder?: boolean;
  json?: boolean;
}

/** Registers `traffic`. */
export function register(program: Command): void {
  addSessionOptions(program.command('traffic'))
    .description('send numbered frames through a looping back-end and count what returns')
    .option('-n, --packets <n>', 'frames to send', parsePositiveInt, 100_000)
    .option('--size <bytes>', `frame size without the virtio-net header (${MIN_FRAME}–${MAX_TRAFFIC_FRAME})`, parsePositiveInt, 64)
    .option('-q, --queues <n>', 'queue pairs to use (needs MQ for more than 1)', parsePositiveInt, 1)
    .option('--queue-size <n>', 'descriptors per ring (a power of two up to 32768)', parsePositiveInt, 256)
    .option('--packed', 'use packed virtqueues (VIRTIO_F_RING_PACKED)')
    .option('--in-order', 'with --packed: ask for VIRTIO_F_IN_ORDER, so the back-end may complete a run of buffers with one used descriptor')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText('after', `
The back-end must loop every frame it receives on TX back into RX (DPDK testpmd
--forward-mode=macswap, or 'vhostlab backend'). Each frame carries a sequence number and a
checksum; the run ends when every frame has come back or nothing arrived for 2 s.
Exit 0 when every frame came back intact with no lifetime violation; 1 otherwise, or when
the back-end was reached but failed the device bring-up or the run (a NACK, a lost
connection, no frame looped back); 2 for bad options; 3 when it cannot be reached.

Example:
  vhostlab traffic --socket /tmp/vhost.sock --packets 1000000 --size 64 --json`)
    .action(async (o: TrafficCliOptions) => {
      checkOptions(o);
      let features = 0n;
      const result = await withSession(o, (session) => failuresAreFindings(async () => {
        const device = await NetDevice.start(session, {
          queuePairs: o.queues, queueSize: o.queueSize, maxFrame: Math.max(1518, o.size), packed: o.packed,
          extraFeatures: o.inOrder ? featureMask(VirtioFeature.IN_ORDER) : 0n,
        });
        features = device.negotiated.features;
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
      }));
      const clean = result.received === result.sent && result.lost === 0 && result.duplicated === 0 && result.corrupted === 0 && result.violations.length === 0;
      // The acked features say which paths ran (IN_ORDER is only taken when offered).
      if (o.json) process.stdout.write(`${JSON.stringify({ ...result, features: `0x${features.toString(16)}` }, null, 2)}\n`);
      else {
        process.stdout.write([
          `features 0x${features.toString(16)}${hasFeature(features, VirtioFeature.IN_ORDER) ? ' (IN_ORDER)' : ''}`,
          `sent ${result.sent}  received ${result.received}  lost ${result.lost}  duplicated ${result.duplicated}  reordered ${result.reordered}  corrupted ${result.corrupted}`,
          `violations ${result.violations.length}${result.violations.slice(0, 10).map((v) => `\n  ${v.rule}: ${v.detail}`).join('')}`,
          `${(result.pps / 1e6).toFixed(3)} Mpps over ${result.durationMs} ms`,
        ].join('\n') + '\n');
      }
      if (!clean) process.exitCode = ExitCode.FAILED;
    });
}

/** Option checks that need no back-end, so bad usage is exit 2 before anything connects. */
function checkOptions(o: TrafficCliOptions): void {
  if (o.size < MIN_FRAME || o.size > MAX_TRAFFIC_FRAME) throw new UsageError(`--size must be between ${MIN_FRAME} and ${MAX_TRAFFIC_FRAME} bytes, got ${o.size}`);
  if (o.queueSize > 32768 || (o.queueSize & (o.queueSize - 1)) !== 0) throw new UsageError(`--queue-size must be a power of two up to 32768, got ${o.queueSize}`);
  if (o.queues > 128) throw new UsageError(`--queues must be at most 128, got ${o.queues}`);
  // The split driver retires used elements one by one; an in-order batch would look like loss.
  if (o.inOrder && !o.packed) throw new UsageError('--in-order needs --packed (batched in-order completions are supported on packed rings only)');
}

/** The back-end was reached: whatever goes wrong from here is its failure (exit 1), not unreachability (3). */
async function failuresAreFindings<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw Object.assign(new Error(err instanceof Error ? err.message : String(err), { cause: err }), { exitCode: ExitCode.FAILED });
  }
}
