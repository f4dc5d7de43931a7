/**
 * `vhostlab backend`: runs the reference vhost-user back-end (fakes/backend) on a unix socket,
 * listening (default) or connecting with reconnect (`--client`), until SIGTERM/SIGINT. One line
 * per connection/session event on stderr (JSON lines with `--json-log`).
 * @module
 */
import type { Command } from 'commander';
import {
  BackendClient, BackendServer, FAULTS, NetLoopbackDevice, UnknownFaultError, ViolationLog, composeHooks, faultHooks, formatFaultList,
  strictHooks, type BackendHooks, type SessionEvent, type Violation,
} from '../../fakes/backend/index.js';
import { VirtioFeature, featureMask } from '../../fakes/wire/index.js';
import { ExitCode, UsageError } from '../exit.js';

interface BackendCliOptions {
  socket: string;
  client?: boolean;
  type: string;
  queues: string;
  packed?: boolean;
  jsonLog?: boolean;
  trace?: boolean;
  strict?: boolean;
  strictChecksums?: boolean;
  violations?: string;
  json?: boolean;
  fault?: string[];
  listFaults?: boolean;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Registers `backend`. */
export function register(program: Command): void {
  program.command('backend')
    .description('run the reference vhost-user back-end (net loopback) on a unix socket')
    .option('-s, --socket <path>', 'unix socket path')
    .option('--client', 'connect to a listening front-end and keep reconnecting (like DPDK client=1)')
    .option('--type <type>', 'device type (only "net")', 'net')
    .option('-q, --queues <n>', 'queue pairs offered', '1')
    .option('--packed', 'require packed virtqueues (SET_FEATURES without RING_PACKED is refused)')
    .option('--json-log', 'log events as JSON lines on stderr')
    .option('--trace', 'log every message received')
    .option('--strict', 'check the front-end too (message order, heads made available twice, buffers changed while the device owns them, event-suppression flags, refused requests)')
    .option('--no-strict-checksums', 'with --strict: skip checksumming readable buffers at pop and completion (faster; a buffer changed while the device owns it goes unseen)')
    .option('--violations <file>', 'write every violation as a JSON line {at, rule, detail, ring?} to FILE (created empty)')
    .option('--fault <name>', 'misbehave on purpose, repeatable (see --list-faults)', collect)
    .option('--list-faults', 'list the faults and the requirements they violate, then exit')
    .option('--json', 'with --list-faults: print JSON')
    .addHelpText('after', `
Each TX queue 2k+1 is looped back into RX queue 2k of its pair. Runs until SIGTERM or SIGINT,
then removes the socket file it created (listen mode).

With --strict the back-end also checks the front-end; violations (always logged on stderr) go to
--violations FILE as JSON lines. --fault NAME makes it misbehave on purpose so a suite can prove
it notices; faults combine with --strict.

Examples:
  vhostlab backend --socket /tmp/vhost.sock
  vhostlab backend --socket /tmp/vu.sock --client --queues 2
  vhostlab backend --socket /tmp/vhost.sock --strict --violations /tmp/violations.jsonl
  vhostlab backend --socket /tmp/vhost.sock --fault wrong-ring-base --fault leak-fds
  vhostlab backend --list-faults --json`)
    .action(async (o: BackendCliOptions) => {
      if (o.listFaults) {
        if (o.json) {
          const list = FAULTS.map(({ name, summary, violates, caughtBy }) => ({ name, summary, violates, caughtBy }));
          process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        } else {
          process.stdout.write(`${formatFaultList()}\n`);
        }
        return;
      }
      if (!o.socket) throw new UsageError('backend needs --socket PATH');
      if (o.strictChecksums === false && !o.strict) throw new UsageError('--no-strict-checksums needs --strict');
      const sets: BackendHooks[] = [];
      // Checksums are on by default: --strict promises to catch a buffer changed while the device
      // owns it (VU-DP-021), and only a checksum at pop and at completion can see that.
      if (o.strict) sets.push(strictHooks({ checksums: o.strictChecksums ?? true }));
      try {
        if ((o.fault?.length ?? 0) > 0) sets.push(faultHooks(o.fault ?? []));
      } catch (e) {
        if (e instanceof UnknownFaultError) throw new UsageError(e.message);
        throw e;
      }
      const hooks = sets.length === 0 ? undefined : composeHooks(...sets);
      if (o.type !== 'net') throw new UsageError(`--type ${o.type}: only "net" is available`);
      const queues = Number(o.queues);
      if (!Number.isInteger(queues) || queues < 1 || queues > 128) throw new UsageError(`--queues must be an integer in 1..128, got ${o.queues}`);

      const log = (fields: Record<string, unknown>): void => {
        if (o.jsonLog) process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
        else {
          const { event, detail, ...rest } = fields;
          const extra = Object.entries(rest).map(([k, v]) => `${k}=${String(v)}`).join(' ');
          process.stderr.write(`vhostlab backend: ${String(event)}${detail !== undefined ? ` ${String(detail)}` : ''}${extra ? ` (${extra})` : ''}\n`);
        }
      };
      let violationLog: ViolationLog | undefined;
      if (o.violations !== undefined) {
        try {
          violationLog = new ViolationLog(o.violations);
        } catch (e) {
          throw new UsageError(`--violations ${o.violations}: ${(e as Error).message}`);
        }
      }
      const observer = {
        event: (e: SessionEvent) => log({ ...e }),
        violation: (v: Violation) => {
          log({ event: 'violation', ...v });
          violationLog?.write(v);
        },
      };
      if (o.fault?.length) log({ event: 'faults', detail: o.fault.join(',') });
      const device = new NetLoopbackDevice({ queuePairs: queues });
      const options = {
        device, observer, hooks, traceMessages: o.trace ?? false,
        requiredFeatures: o.packed ? featureMask(VirtioFeature.RING_PACKED) : 0n,
      };
      let runner: BackendServer | BackendClient;
      try {
        runner = o.client ? BackendClient.connect(o.socket, options) : BackendServer.listen(o.socket, options);
      } catch (e) {
        throw Object.assign(new Error(`cannot listen on ${o.socket}: ${(e as Error).message}`), { exitCode: ExitCode.PEER_UNREACHABLE });
      }
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          log({ event: 'stopping', detail: sig });
          void runner.close().finally(resolve);
        };
        const onTerm = (): void => stop('SIGTERM');
        const onInt = (): void => stop('SIGINT');
        process.on('SIGTERM', onTerm);
        process.on('SIGINT', onInt);
      });
      violationLog?.close();
      log({ event: 'stopped', ...device.counters, ...(violationLog ? { violations: violationLog.written } : {}) });
    });
}
