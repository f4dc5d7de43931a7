/**
 * Boots QEMU 7.2 with a real Linux guest whose only NIC is a vhost-user virtio-net device, lets
 * the guest send ICMP echo requests, and returns the guest's eth0 counters. Used to prove a
 * vhost-user back-end (DPDK's, later vhostlab's own) against a real front-end and a real driver
 * (issue 3, item 7).
 *
 * The guest is Debian's kernel plus the initramfs that scripts/guest/build-initramfs.mjs builds
 * (busybox + virtio modules + scripts/guest/init.sh). The init script takes its parameters from
 * the kernel command line and prints `VHOSTLAB-BOOT`, `VHOSTLAB-UP`, then `VHOSTLAB-RESULT k=v …`
 * or `VHOSTLAB-ERROR reason=…` on the serial console, which goes to a file this module polls.
 *
 * QEMU facts this is built around (DESIGN.md, "Real peers"):
 * - vhost-user needs guest RAM the back-end can map: a shared memfd backend bound to a NUMA node.
 * - `/dev/kvm` exists on the CI machines but KVM guests hang early, so KVM is used only when a
 *   short probe boot shows that it works; otherwise TCG.
 * - Under TCG, QEMU 7.2 crashes when the guest starts a vhost-user virtio-pci device with MSI-X,
 *   so the device gets `vectors=0` (legacy INTx) there.
 * - QEMU blocks in start-up until the vhost-user socket is connected: as a client it needs the
 *   back-end listening first; as a server (`serverMode`) it waits for the back-end to connect.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Stable codes of {@link GuestError}. */
export const GuestErrorCode = {
  /** The host lacks QEMU, the kernel or busybox. */
  unavailable: 'VHU_ERR_GUEST_UNAVAILABLE',
  /** No result within `timeoutMs`; QEMU was killed. */
  timeout: 'VHU_ERR_GUEST_TIMEOUT',
  /** The guest's init reported `VHOSTLAB-ERROR`. */
  guestFailed: 'VHU_ERR_GUEST_FAILED',
  /** QEMU exited without a result line. */
  noResult: 'VHU_ERR_GUEST_NO_RESULT',
} as const;

/** One of {@link GuestErrorCode}. */
export type GuestErrorCode = (typeof GuestErrorCode)[keyof typeof GuestErrorCode];

/** A guest run that produced no result; the message ends with the last lines of both logs. */
export class GuestError extends Error {
  /** Stable code. */
  readonly code: GuestErrorCode;
  /** Last lines of the serial console. */
  readonly serialTail: string;
  /** Last lines of QEMU's own stdout/stderr. */
  readonly qemuLogTail: string;

  /** @param code - what went wrong; the tails are appended to `message`. */
  constructor(code: GuestErrorCode, message: string, serialTail = '', qemuLogTail = '') {
    super(
      [message, serialTail && `--- serial console (last lines) ---\n${serialTail}`, qemuLogTail && `--- qemu output (last lines) ---\n${qemuLogTail}`]
        .filter(Boolean)
        .join('\n'),
    );
    this.name = 'GuestError';
    this.code = code;
    this.serialTail = serialTail;
    this.qemuLogTail = qemuLogTail;
  }
}

/** Options of {@link startGuest}. */
export type GuestOptions = {
  /** vhost-user socket path. */
  socketPath: string;
  /** QEMU listens on the socket (`server=on,wait=off`) and the back-end connects. Default false. */
  serverMode?: boolean;
  /** Echo requests the guest sends on each queue pair. */
  packets: number;
  /** Queue pairs (`queues=N` on the netdev, `mq=on`, one vCPU per pair). Default 1. */
  queues?: number;
  /** Seconds between echo requests. Default 0.05. */
  interval?: number;
  /** Time limit from QEMU's spawn to its exit (start-up, boot, traffic, power-off). */
  timeoutMs: number;
  /** Folder for `serial-N.log` and `qemu-N.log` (kept for the caller). */
  logDir: string;
  /** Guest MAC. Default 02:00:00:00:99:02. */
  mac?: string;
  /** Force an accelerator instead of probing (also `VHOSTLAB_QEMU_ACCEL=kvm|tcg`). */
  accel?: Accel;
};

/** QEMU accelerator. */
export type Accel = 'kvm' | 'tcg';

/** The guest's `VHOSTLAB-RESULT` line: eth0 counters after the run, plus what init did. */
export type GuestResult = {
  /** eth0 tx_packets: frames the guest driver queued to the device. */
  txPackets: number;
  /** eth0 rx_packets: frames the guest driver took from the device. */
  rxPackets: number;
  /** eth0 tx_bytes. */
  txBytes: number;
  /** eth0 rx_bytes. */
  rxBytes: number;
  /** eth0 tx_dropped. */
  txDropped: number;
  /** eth0 rx_dropped. */
  rxDropped: number;
  /** eth0 rx_errors. */
  rxErrors: number;
  /** Echo requests init asked ping to send, over all queue pairs. */
  sent: number;
  /** Transmit queues the guest driver created. */
  queues: number;
  /** Queue pairs that carried traffic (one pinned ping per vCPU). */
  senders: number;
  /** Guest uptime (s) when the counters were read. */
  uptimeS: number;
  /** Every key of the line, as printed. */
  raw: Readonly<Record<string, string>>;
};

/** What {@link startGuest} resolves to. */
export type GuestRun = {
  /** The parsed result line. */
  result: GuestResult;
  /** The whole serial console. */
  log: string;
  /** QEMU's exit status (0 after the guest's `poweroff -f`), or null when it was killed. */
  exitCode: number | null;
  /** Accelerator used. */
  accel: Accel;
  /** Host milliseconds from spawning QEMU to the guest's init printing `VHOSTLAB-BOOT`. */
  bootMs: number;
  /** Guest uptime (s) when init started. */
  bootUptimeS: number;
  /** Host milliseconds from spawning QEMU to its exit. */
  durationMs: number;
  /** The exact QEMU argument vector. */
  command: readonly string[];
  /** Serial console log file. */
  serialLogPath: string;
};

/** Paths produced by scripts/guest/build-initramfs.mjs --json. */
type GuestImage = { kernel: string; initramfs: string; kernelVersion: string; cacheDir: string };

const QEMU = process.env.VHOSTLAB_QEMU ?? 'qemu-system-x86_64';
const BUILDER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'scripts', 'guest', 'build-initramfs.mjs');
const POLL_MS = 100;
const KVM_PROBE_TIMEOUT_MS = 8_000;
const POWEROFF_GRACE_MS = 5_000;
let runCounter = 0;

/** Escapes a value for QEMU's `key=value,…` option syntax, where a comma is written twice. */
const optValue = (s: string): string => s.replaceAll(',', ',,');

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

let availability: { ok: boolean; reason?: string; image?: GuestImage } | undefined;

/**
 * Whether a guest can be booted here: QEMU on PATH, and the initramfs builds (kernel, modules and
 * busybox-static present). Builds or reuses the cached initramfs; the answer is cached for the
 * process. `reason` names the missing Debian package.
 */
export function qemuAvailable(): { ok: boolean; reason?: string } {
  availability ??= checkAvailability();
  return availability.ok ? { ok: true } : { ok: false, reason: availability.reason };
}

function checkAvailability(): { ok: boolean; reason?: string; image?: GuestImage } {
  if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', QEMU], { stdio: 'ignore' }).status !== 0) {
    return { ok: false, reason: `${QEMU} not found (install the Debian package qemu-system-x86)` };
  }
  const built = spawnSync(process.execPath, [BUILDER, '--json'], { encoding: 'utf8' });
  // Status 2 is the builder's "a Debian package is missing" (a reason to skip); any other failure is
  // a bug in the builder, which must fail the tests rather than hide behind a skip.
  if (built.status === 2) return { ok: false, reason: built.stderr.trim() };
  if (built.status !== 0) throw new GuestError(GuestErrorCode.unavailable, `the guest initramfs builder failed (status ${built.status ?? built.signal}): ${(built.stderr || built.error?.message || '').trim()}`);
  return { ok: true, image: JSON.parse(built.stdout) as GuestImage };
}

function guestImage(): GuestImage {
  qemuAvailable();
  if (!availability?.image) throw new GuestError(GuestErrorCode.unavailable, `cannot boot a guest: ${availability?.reason ?? 'unknown reason'}`);
  return availability.image;
}

let accelAnswer: Promise<Accel> | undefined;

/**
 * The accelerator guests use: `VHOSTLAB_QEMU_ACCEL` when set, TCG when /dev/kvm is not usable,
 * otherwise the outcome of a probe boot under KVM (init must print `VHOSTLAB-BOOT` within
 * 8 s). The answer is cached for the process, and on disk for the host's current boot.
 */
export function resolveAccel(): Promise<Accel> {
  accelAnswer ??= decideAccel();
  return accelAnswer;
}

async function decideAccel(): Promise<Accel> {
  const forced = process.env.VHOSTLAB_QEMU_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return forced;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'tcg';
  }
  const image = guestImage();
  // A hung KVM boot costs the whole probe time-out, so remember the answer until the host reboots.
  let bootId = 'unknown';
  try {
    bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    /* no boot id: the disk cache simply never matches */
  }
  const key = `${bootId} ${QEMU} ${image.kernel}`;
  const cacheFile = join(image.cacheDir, 'kvm-probe.json');
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key: string; accel: Accel };
    if (cached.key === key) return cached.accel;
  } catch {
    /* no cache yet */
  }
  const accel: Accel = (await probeKvm(image)) ? 'kvm' : 'tcg';
  try {
    mkdirSync(image.cacheDir, { recursive: true });
    writeFileSync(cacheFile, JSON.stringify({ key, accel }) + '\n');
  } catch {
    /* the cache is an optimisation */
  }
  return accel;
}

async function probeKvm(image: GuestImage): Promise<boolean> {
  const dir = join(image.cacheDir, `kvm-probe-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const serial = join(dir, 'serial.log');
  writeFileSync(serial, '');
  const args = [
    '-nodefaults', '-no-user-config', '-machine', 'q35', '-accel', 'kvm', '-cpu', 'host', '-m', '128M',
    '-kernel', image.kernel, '-initrd', image.initramfs, '-append', 'console=ttyS0 panic=-1 vhostlab.mode=probe',
    '-display', 'none', '-no-reboot', '-chardev', `file,id=ser0,path=${optValue(serial)}`, '-serial', 'chardev:ser0',
  ];
  const child = spawn(QEMU, args, { stdio: 'ignore' });
  child.once('error', () => {});
  const deadline = Date.now() + KVM_PROBE_TIMEOUT_MS;
  let ok = false;
  while (Date.now() < deadline) {
    if (readFileSync(serial, 'utf8').includes('VHOSTLAB-BOOT')) {
      ok = true;
      break;
    }
    if (await waitExit(child, POLL_MS)) break;
  }
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  await waitExit(child, 5_000);
  rmSync(dir, { recursive: true, force: true });
  return ok;
}

/**
 * The QEMU argument vector for one run (exported so reports can show the exact command).
 */
export function qemuArgs(o: {
  image: { kernel: string; initramfs: string };
  accel: Accel;
  socketPath: string;
  serverMode: boolean;
  queues: number;
  packets: number;
  interval: number;
  mac: string;
  serialLogPath: string;
}): string[] {
  const multi = o.queues > 1;
  const append = ['console=ttyS0', 'panic=-1', `vhostlab.packets=${o.packets}`, `vhostlab.interval=${o.interval}`].join(' ');
  const device = [
    'virtio-net-pci', 'netdev=n0', `mac=${o.mac}`,
    ...(o.accel === 'tcg' ? ['vectors=0'] : []), // MSI-X + vhost-user under TCG crashes QEMU 7.2
    ...(multi ? ['mq=on'] : []),
  ].join(',');
  return [
    '-nodefaults', '-no-user-config', // no default NIC, VGA or monitor: eth0 is our device
    '-machine', 'q35', '-accel', o.accel, ...(o.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-smp', String(o.queues), // one vCPU per queue pair: virtio_net enables min(pairs, CPUs) pairs
    '-m', '256M', '-object', 'memory-backend-memfd,id=mem,size=256M,share=on', '-numa', 'node,memdev=mem',
    '-kernel', o.image.kernel, '-initrd', o.image.initramfs, '-append', append,
    '-display', 'none', '-no-reboot',
    '-chardev', `file,id=ser0,path=${optValue(o.serialLogPath)}`, '-serial', 'chardev:ser0',
    '-chardev', `socket,id=c0,path=${optValue(o.socketPath)}${o.serverMode ? ',server=on,wait=off' : ''}`,
    '-netdev', `vhost-user,id=n0,chardev=c0${multi ? `,queues=${o.queues}` : ''}`,
    '-device', device,
  ];
}

/**
 * Parses `VHOSTLAB-RESULT k=v …` into a {@link GuestResult}.
 * @returns the result, or `undefined` when the line is not a complete result line
 */
export function parseResultLine(line: string): GuestResult | undefined {
  const m = /VHOSTLAB-RESULT((?: \S+=\S*)+)\s*$/.exec(line);
  if (!m) return undefined;
  const raw: Record<string, string> = {};
  for (const pair of m[1].trim().split(' ')) {
    const eq = pair.indexOf('=');
    raw[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const int = (k: string): number => (/^\d+$/.test(raw[k] ?? '') ? Number(raw[k]) : NaN);
  const result: GuestResult = {
    txPackets: int('tx_packets'),
    rxPackets: int('rx_packets'),
    txBytes: int('tx_bytes'),
    rxBytes: int('rx_bytes'),
    txDropped: int('tx_dropped'),
    rxDropped: int('rx_dropped'),
    rxErrors: int('rx_errors'),
    sent: int('sent'),
    queues: int('queues'),
    senders: int('senders'),
    uptimeS: Number(raw.uptime ?? NaN),
    raw,
  };
  const numbers = Object.values(result).filter((v): v is number => typeof v === 'number');
  return numbers.every((v) => Number.isFinite(v)) ? result : undefined;
}

/**
 * Boots the guest against a vhost-user back-end on `socketPath` and resolves with its counters
 * once it powers off. QEMU is always gone when the promise settles (killed by PID on time-out or
 * error); the logs stay in `logDir`.
 * @throws GuestError on time-out (`VHU_ERR_GUEST_TIMEOUT`), a guest-side failure
 *   (`VHU_ERR_GUEST_FAILED`), an exit without result (`VHU_ERR_GUEST_NO_RESULT`), or missing
 *   prerequisites (`VHU_ERR_GUEST_UNAVAILABLE`); the message holds the last lines of both logs.
 */
export async function startGuest(options: GuestOptions): Promise<GuestRun> {
  const image = guestImage();
  const accel = options.accel ?? (await resolveAccel());
  const n = ++runCounter;
  const serialLogPath = join(options.logDir, `serial-${n}.log`);
  const qemuLogPath = join(options.logDir, `qemu-${n}.log`);
  writeFileSync(serialLogPath, '');
  const args = qemuArgs({
    image, accel, socketPath: options.socketPath, serverMode: options.serverMode ?? false,
    queues: options.queues ?? 1, packets: options.packets, interval: options.interval ?? 0.05,
    mac: options.mac ?? '02:00:00:00:99:02', serialLogPath,
  });

  const logFd = openSync(qemuLogPath, 'w');
  let child: ChildProcess;
  try {
    child = spawn(QEMU, args, { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  child.once('error', () => {}); // a failed spawn shows up as no pid and no result
  const spawnedAt = Date.now();
  const kill = (): void => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  };
  process.once('exit', kill); // never leave a guest running behind a crashed test process

  const fail = (code: GuestErrorCode, message: string): GuestError =>
    new GuestError(code, `${message} (logs in ${options.logDir})`, tail(serialLogPath, 25), tail(qemuLogPath, 10));
  try {
    // Counted from the spawn: the accelerator probe before it has its own bound.
    const deadline = spawnedAt + options.timeoutMs;
    let bootMs: number | undefined;
    let bootUptimeS = NaN;
    let result: GuestResult | undefined;
    let exitBy: number | undefined;
    for (;;) {
      const log = readFileSync(serialLogPath, 'utf8');
      if (bootMs === undefined) {
        const boot = /VHOSTLAB-BOOT uptime=([\d.]+)/.exec(log);
        if (boot) {
          bootMs = Date.now() - spawnedAt;
          bootUptimeS = Number(boot[1]);
        }
      }
      const error = /VHOSTLAB-ERROR (.*)/.exec(log);
      if (error) throw fail(GuestErrorCode.guestFailed, `guest init failed: ${error[1].trim()}`);
      if (!result) {
        const line = log.split('\n').find((l) => l.includes('VHOSTLAB-RESULT'));
        result = line === undefined ? undefined : parseResultLine(line.trim());
        // The init powers off right after the result; give it a moment, then stop waiting.
        if (result) exitBy = Date.now() + POWEROFF_GRACE_MS;
      }
      const exited = child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
      if (result && (exited || Date.now() > (exitBy ?? 0))) {
        kill();
        await waitExit(child, 5_000);
        return {
          result, log: readFileSync(serialLogPath, 'utf8'), exitCode: child.exitCode, accel,
          bootMs: bootMs ?? NaN, bootUptimeS, durationMs: Date.now() - spawnedAt, command: [QEMU, ...args], serialLogPath,
        };
      }
      if (exited) {
        // Read once more: the result may have landed between the read above and the exit.
        const line = readFileSync(serialLogPath, 'utf8').split('\n').find((l) => l.includes('VHOSTLAB-RESULT'));
        if (line === undefined || parseResultLine(line.trim()) === undefined) {
          throw fail(GuestErrorCode.noResult, `QEMU exited (${child.exitCode ?? child.signalCode ?? 'spawn failed'}) without a complete result line`);
        }
        continue;
      }
      if (Date.now() > deadline) throw fail(GuestErrorCode.timeout, `no guest result within ${options.timeoutMs} ms; QEMU (pid ${child.pid}) killed`);
      await waitExit(child, POLL_MS);
    }
  } finally {
    kill();
    await waitExit(child, 5_000);
    process.off('exit', kill);
  }
}

/**
 * Resolves true once `path` is a socket (for example QEMU listening in `serverMode`, so a
 * back-end that does not retry can connect), false after `timeoutMs`.
 */
export async function waitForSocket(path: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (statSync(path).isSocket()) return true;
    } catch {
      /* not there yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
