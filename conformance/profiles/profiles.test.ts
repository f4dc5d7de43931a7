import { describe, it, expect } from 'vitest';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadProfile } from './load-profile.js';
import { loadExpectations } from '../runner/expectations.js';
import { allCases } from '../cases/index.js';

const dir = fileURLToPath(new URL('.', import.meta.url));

describe('shipped profiles', () => {
  const names = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
  it('include the seven required peers', () => {
    expect(names.sort()).toEqual(['dpdk-testpmd', 'dpdk-testpmd-client', 'dpdk-testpmd-iommu', 'qemu-storage-daemon-blk', 'reference', 'reference-client', 'vhost-user-gpu', 'virtiofsd']);
  });
  it.each(names)('%s loads, and its expectation list names only real cases', (name) => {
    const p = loadProfile(name);
    expect(p.command).toContain('{socket}');
    expect(p.expectations).toBeDefined();
    expect(() => loadExpectations(p.expectations!, new Set(allCases.map((c) => c.id)))).not.toThrow();
  });
});
