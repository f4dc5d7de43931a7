/**
 * Live-fuzzer findings against DPDK 22.11's vhost back-end (testpmd net_vhost0), kept under
 * fuzz/corpus/ and replayed here (plus two short packed campaigns, the second stepping over a
 * known bug with --known): each must still reproduce on the DPDK this machine has (a DPDK that
 * fixed the bug makes the test fail, which is the signal to move the file out).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dpdkMissing } from './support/dpdk.js';

const cli = fileURLToPath(new URL('../../bin/vhostlab.cjs', import.meta.url));
const corpus = (p: string): string => fileURLToPath(new URL(`../../fuzz/corpus/${p}`, import.meta.url));

describe.skipIf(dpdkMissing !== undefined)('fuzz findings against DPDK testpmd', () => {
  it('datapath: DPDK writes a received frame into a device-readable RX descriptor (VU-DP-006)', () => {
    const r = spawnSync(process.execPath, [cli, 'fuzz', '--replay', corpus('datapath/dpdk-rx-write-into-readable.json'), '--profile', 'dpdk-testpmd', '--json'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr + r.stdout).toBe(1);
    const doc = JSON.parse(r.stdout) as { reproduced: boolean; failure: string };
    expect(doc.reproduced).toBe(true);
    expect(doc.failure).toMatch(/^corruption: .*canaries intact/);
  }, 130_000);

  it('datapath: DPDK walks a packed chain into a slot never made available and returns its stale id (VU-PK-002)', () => {
    const r = spawnSync(process.execPath, [cli, 'fuzz', '--replay', corpus('datapath/dpdk-packed-chain-into-unavailable-slot.json'), '--profile', 'dpdk-testpmd', '--json'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr + r.stdout).toBe(1);
    const doc = JSON.parse(r.stdout) as { reproduced: boolean; failure: string };
    expect(doc.reproduced).toBe(true);
    expect(doc.failure).toMatch(/^state-loss: .*used descriptor \{id 0,/);
  }, 130_000);

  it('datapath: DPDK returns a TX descriptor it never wrote with the driver\'s WRITE flag and len (VU-DP-008)', () => {
    const r = spawnSync(process.execPath, [cli, 'fuzz', '--replay', corpus('datapath/dpdk-packed-tx-used-keeps-driver-write-flag.json'), '--profile', 'dpdk-testpmd', '--json'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr + r.stdout).toBe(1);
    const doc = JSON.parse(r.stdout) as { reproduced: boolean; failure: string };
    expect(doc.reproduced).toBe(true);
    expect(doc.failure).toMatch(/^corruption: .*a used descriptor with WRITE claims .*len 4294967295/);
  }, 130_000);

  it('datapath: with the chain-walk bug --known, the same packed campaign passes over it and finds the WRITE-flag bug', () => {
    const out = mkdtempSync(join(tmpdir(), 'vhl-fzkn-'));
    try {
      const r = spawnSync(process.execPath, [
        cli, 'fuzz', 'datapath', '--profile', 'dpdk-testpmd', '--rings', 'packed', '--seed', '1', '--runs', '40', '--out', out, '--json',
        '--known', corpus('datapath/dpdk-packed-chain-into-unavailable-slot.json'),
      ], { encoding: 'utf8', timeout: 240_000 });
      expect(r.status, r.stderr + r.stdout).toBe(1);
      const doc = JSON.parse(r.stdout) as { known: { reproducer: string; count: number }[]; finding?: { kind: string; summary: string } };
      expect(doc.known).toEqual([{ reproducer: 'dpdk-packed-chain-into-unavailable-slot.json', count: expect.any(Number) as number }]);
      expect(doc.known[0]!.count).toBeGreaterThanOrEqual(1);
      expect(doc.finding?.kind).toBe('corruption');
      expect(doc.finding?.summary).toMatch(/used descriptor with WRITE claims/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 250_000);

  it('datapath: a short packed campaign on DPDK finds a finding of its own and shrinks it to one descriptor', () => {
    const out = mkdtempSync(join(tmpdir(), 'vhl-fzpk-'));
    try {
      const r = spawnSync(process.execPath, [cli, 'fuzz', 'datapath', '--profile', 'dpdk-testpmd', '--rings', 'packed', '--seed', '1', '--runs', '40', '--out', out, '--json'], { encoding: 'utf8', timeout: 240_000 });
      expect(r.status, r.stderr + r.stdout).toBe(1);
      const doc = JSON.parse(r.stdout) as { layouts: string[]; finding?: { kind: string; length: number; replays: boolean } };
      expect(doc.layouts).toEqual(['packed']);
      expect(doc.finding?.kind).toBe('state-loss');
      expect(doc.finding?.replays).toBe(true);
      expect(doc.finding?.length).toBe(1);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 250_000);
});
