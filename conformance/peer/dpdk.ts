/**
 * Command lines for DPDK 22.11's testpmd as a vhost-user peer on a machine without hugepages
 * (DESIGN.md "Real peers"): the vhost back-end (`net_vhost0`) and the virtio-user front-end
 * (`net_virtio_user0`). `{socket}` and `{id}` are filled in by {@link PeerProcess}; `{id}` gives
 * every process its own `--file-prefix`, which DPDK needs to run several instances.
 * @module
 */
import { execFileSync } from 'node:child_process';

/** The testpmd binary, if installed. */
export function findTestpmd(): string | undefined {
  for (const p of ['/usr/bin/dpdk-testpmd', '/usr/local/bin/dpdk-testpmd']) {
    try {
      execFileSync(p, ['--version'], { stdio: 'ignore', timeout: 10_000 });
      return p;
    } catch (err) {
      // testpmd exits non-zero on --version after printing it; only a missing file is fatal.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return p;
    }
  }
  return undefined;
}

/** EAL flags for one testpmd without hugepages or PCI devices (`--no-mlockall` is a testpmd option, after `--`). `lcores` is testpmd's `-l`. */
export function ealFlags(lcores = '0,1'): string {
  return `--no-huge -m 1024 --no-pci --file-prefix={id} -l ${lcores} --log-level=user1,info`;
}

/** Options of the vhost back-end. */
export interface VhostBackendOptions {
  /** Connect to the front-end's socket instead of listening (DPDK `client=1`, with reconnect). */
  client?: boolean;
  /** Queue pairs (default 1). */
  queues?: number;
  /** testpmd forwarding mode (default macswap: every frame is looped back). */
  forwardMode?: 'macswap' | 'io' | 'mac' | 'rxonly';
  /** Core list (default "0,1": one for the main lcore, one forwarding). */
  lcores?: string;
}

/** testpmd as a vhost-user back-end that loops frames back. */
export function testpmdVhostCommand(testpmd: string, o: VhostBackendOptions = {}): string {
  const vdev = `net_vhost0,iface={socket}${o.client ? ',client=1' : ''},queues=${o.queues ?? 1}`;
  const q = o.queues ?? 1;
  return `${testpmd} ${ealFlags(o.lcores)} --vdev '${vdev}' -- --no-mlockall --forward-mode=${o.forwardMode ?? 'macswap'} --auto-start --total-num-mbufs=16384 --rxq=${q} --txq=${q} --nb-cores=1 --stats-period=1`;
}

/** Options of the virtio-user front-end. */
export interface VirtioUserOptions {
  /** Listen for the back-end (virtio-user `server=1`) instead of connecting. */
  server?: boolean;
  queues?: number;
  packed?: boolean;
  lcores?: string;
  /** testpmd forwarding mode on the front-end side (default txonly: generates traffic). */
  forwardMode?: 'txonly' | 'rxonly' | 'io' | 'macswap' | 'flowgen';
  /** Frame size for txonly (`--txpkts`). */
  frameSize?: number;
  /** Ring size (default 256). */
  ringSize?: number;
}

/** testpmd as a virtio-user front-end (DPDK's own, the reference for speed). */
export function testpmdVirtioUserCommand(testpmd: string, o: VirtioUserOptions = {}): string {
  const q = o.queues ?? 1;
  const ring = o.ringSize ?? 256;
  const vdev = `net_virtio_user0,path={socket}${o.server ? ',server=1' : ''},queues=${q},queue_size=${ring}${o.packed ? ',packed_vq=1' : ''}`;
  const pkt = o.frameSize ? ` --txpkts=${o.frameSize}` : '';
  return `${testpmd} ${ealFlags(o.lcores)} --vdev '${vdev}' -- --no-mlockall --forward-mode=${o.forwardMode ?? 'txonly'} --auto-start --total-num-mbufs=16384 --rxq=${q} --txq=${q} --nb-cores=1 --rxd=${ring} --txd=${ring}${pkt} --stats-period=1`;
}
