/**
 * The suite against DPDK 22.11's vhost back-end (testpmd net_vhost0) in both socket modes: it
 * runs to the end, every failure is on the profile's expectation list (each entry confirmed in
 * DPDK's lib/vhost/vhost_user.c), nothing on the list passes, and the run exits 0 in well under
 * two minutes. A third profile, with iommu-support=1, runs the IOTLB cases.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { dpdkMissing } from './support/dpdk.js';

const run = promisify(execFile);
const cli = new URL('../../bin/vhostlab.cjs', import.meta.url).pathname;
const expectationsOf = (name: string): { id: string }[] =>
  JSON.parse(readFileSync(new URL(`../../conformance/expectations/${name}.json`, import.meta.url), 'utf8')).expectations;

async function conformance(profile: string, only: string[] = []): Promise<{ code: number; doc: { durationMs: number; cases: { id: string; status: string; expectation?: string; detail: string }[] }; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, 'conformance', '--profile', profile, '--json', ...only.flatMap((p) => ['--only', p])], { timeout: 170_000, maxBuffer: 64 << 20 });
    return { code: 0, doc: JSON.parse(stdout), stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, doc: e.stdout ? JSON.parse(e.stdout) : { durationMs: 0, cases: [] }, stderr: e.stderr ?? '' };
  }
}

describe.skipIf(dpdkMissing !== undefined)('conformance against DPDK testpmd', () => {
  for (const profile of ['dpdk-testpmd', 'dpdk-testpmd-client']) {
    it(`${profile}: completes and matches its expectation list exactly`, async () => {
      const r = await conformance(profile);
      const unexpected = r.doc.cases.filter((c) => c.status === 'fail' || c.status === 'error');
      expect(unexpected.map((c) => `${c.id}: ${c.detail}`), r.stderr.slice(-4000)).toEqual([]);
      expect(r.code).toBe(0);
      const waived = r.doc.cases.filter((c) => c.expectation === 'xfail').map((c) => c.id).sort();
      expect(waived).toEqual(expectationsOf(profile).map((e) => e.id).sort());
      expect(r.doc.durationMs).toBeLessThan(120_000);
    }, 180_000);
  }

  // With iommu-support=1 lib/vhost offers ACCESS_PLATFORM; only the cases that need it are run
  // against it (the rest behave as on dpdk-testpmd, which runs them all).
  it('dpdk-testpmd-iommu: the IOTLB cases run and match the expectation list exactly', async () => {
    const r = await conformance('dpdk-testpmd-iommu', ['backend/iotlb/', 'protocol-features/backend-req/messages-well-formed']);
    const unexpected = r.doc.cases.filter((c) => c.status === 'fail' || c.status === 'error');
    expect(unexpected.map((c) => `${c.id}: ${c.detail}`), r.stderr.slice(-4000)).toEqual([]);
    expect(r.code).toBe(0);
    const ran = r.doc.cases.filter((c) => !c.id.startsWith('profile/') && c.status !== 'skip');
    expect(ran.length).toBeGreaterThanOrEqual(9);
    const waived = r.doc.cases.filter((c) => c.expectation === 'xfail').map((c) => c.id).sort();
    expect(waived).toEqual(expectationsOf('dpdk-testpmd-iommu').map((e) => e.id).sort());
  }, 180_000);
});
