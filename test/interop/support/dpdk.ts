/**
 * Test support: start DPDK testpmd peers in a fresh temp folder and clean up after them (the
 * process by its PID, its socket, its /var/run/dpdk/<file-prefix> folder).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerProcess } from '../../../conformance/peer/peer-process.js';
import {
  findTestpmd, testpmdVhostCommand, testpmdVirtioUserCommand, type VhostBackendOptions, type VirtioUserOptions,
} from '../../../conformance/peer/dpdk.js';

/** The testpmd binary, or undefined with the reason logged once. */
export const testpmd = findTestpmd();
/** Why DPDK interop tests skip, if they do. */
export const dpdkMissing = testpmd ? undefined : 'dpdk-testpmd is not installed (apt-get install dpdk); DPDK interop tests skip';
if (dpdkMissing) console.warn(dpdkMissing);

/** A scratch folder for sockets and logs. */
export function scratchDir(prefix = 'vhostlab-it-'): { dir: string; socket: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, socket: join(dir, 'vhost.sock'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A running testpmd and how to stop it completely. */
export interface RunningTestpmd {
  peer: PeerProcess;
  stop(): Promise<void>;
}

function track(peer: PeerProcess): RunningTestpmd {
  return {
    peer,
    async stop() {
      await peer.stop();
      rmSync(`/var/run/dpdk/${peer.id}`, { recursive: true, force: true });
    },
  };
}

/** Starts testpmd as a vhost-user back-end (listening, or with client=1 connecting) on `socket`. */
export function startVhostBackend(socket: string, logDir: string, o: VhostBackendOptions = {}): RunningTestpmd {
  if (!testpmd) throw new Error(dpdkMissing);
  return track(PeerProcess.start({ command: testpmdVhostCommand(testpmd, o), socket, logDir, label: 'testpmd-vhost' }));
}

/** Starts testpmd as a virtio-user front-end on `socket`. */
export function startVirtioUser(socket: string, logDir: string, o: VirtioUserOptions = {}): RunningTestpmd {
  if (!testpmd) throw new Error(dpdkMissing);
  return track(PeerProcess.start({ command: testpmdVirtioUserCommand(testpmd, o), socket, logDir, label: 'testpmd-virtio-user' }));
}
