/**
 * The suite against QEMU 7.2's libvhost-user back-ends: qemu-storage-daemon (vhost-user-blk),
 * virtiofsd and vhost-user-gpu. Only protocol cases apply (the data-path cases need a looping
 * net device and skip themselves). Each run must complete and match its expectation list.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = new URL('../../bin/vhostlab.cjs', import.meta.url).pathname;
const PEERS: { profile: string; binary: string }[] = [
  { profile: 'qemu-storage-daemon-blk', binary: '/usr/bin/qemu-storage-daemon' },
  { profile: 'virtiofsd', binary: '/usr/lib/qemu/virtiofsd' },
  { profile: 'vhost-user-gpu', binary: '/usr/lib/qemu/vhost-user-gpu' },
];

describe('conformance against QEMU back-ends', () => {
  for (const { profile, binary } of PEERS) {
    // CI installs every binary (qemu-system-common, qemu-system-gui); a missing one says so in the title.
    const missing = existsSync(binary) ? '' : ` (skipped: ${binary} is not installed)`;
    it.skipIf(missing !== '')(`${profile}: completes and matches its expectation list exactly${missing}`, async () => {
      let code = 0;
      let stdout = '';
      let stderr = '';
      try {
        ({ stdout, stderr } = await run(process.execPath, [cli, 'conformance', '--profile', profile, '--json'], { timeout: 170_000, maxBuffer: 64 << 20 }));
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        code = typeof e.code === 'number' ? e.code : -1;
        stdout = e.stdout ?? '';
        stderr = e.stderr ?? '';
      }
      const doc = JSON.parse(stdout) as { cases: { id: string; status: string; expectation?: string; detail: string }[] };
      const unexpected = doc.cases.filter((c) => c.status === 'fail' || c.status === 'error');
      expect(unexpected.map((c) => `${c.id}: ${c.detail}`), stderr.slice(-4000)).toEqual([]);
      expect(code).toBe(0);
      const listed = (JSON.parse(readFileSync(new URL(`../../conformance/expectations/${profile}.json`, import.meta.url), 'utf8')).expectations as { id: string; status: string }[])
        .filter((e) => e.status === 'fail').map((e) => e.id).sort();
      expect(doc.cases.filter((c) => c.expectation === 'xfail').map((c) => c.id).sort()).toEqual(listed);
    }, 180_000);
  }
});
