import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { runCampaign } from './run-campaign.js';
import { Finding, FindingKind } from './finding.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('runCampaign', () => {
  it('finds a failing input, shrinks it and reports the smallest', async () => {
    const r = await runCampaign({
      arbitrary: fc.integer({ min: 0, max: 1000 }),
      execute: async (n) => {
        if (n >= 10) throw new Finding(FindingKind.CRASH, `n=${n}`);
      },
      seed: 7, runs: 200,
    });
    expect(r.finding?.input).toBe(10);
    expect(r.finding?.finding.kind).toBe(FindingKind.CRASH);
  });

  it('rethrows an error that is not a finding', async () => {
    await expect(runCampaign({ arbitrary: fc.nat(), execute: async () => { throw new TypeError('bug in the harness'); }, seed: 1, runs: 5 }))
      .rejects.toThrow('bug in the harness');
  });

  // A live execution abandoned by fast-check's time limit would otherwise go on killing and
  // restarting the peer after the campaign returned (an orphaned back-end process).
  it('returns only after an execution cut off by the time limit has finished', async () => {
    let running = 0;
    const r = await runCampaign({
      arbitrary: fc.nat(),
      execute: async () => {
        running++;
        try {
          await sleep(150);
        } finally {
          running--;
        }
      },
      seed: 1, timeMs: 50,
    });
    expect(running).toBe(0);
    expect(r.finding).toBeUndefined();
  });

  it('ignores the outcome of an execution that ends after the shrink time limit', async () => {
    let after = false;
    const r = await runCampaign({
      arbitrary: fc.integer({ min: 0, max: 1_000_000 }),
      execute: async (n) => {
        if (n < 10) return;
        // Shrink candidates are slow; the first failure (during the search) is quick.
        if (after) await sleep(120);
        after = true;
        throw new Finding(FindingKind.HANG, `n=${n}`);
      },
      seed: 3, runs: 100, shrinkTimeMs: 50,
    });
    expect(r.finding).toBeDefined();
    expect(r.finding!.input).toBeGreaterThanOrEqual(10);
  });
});
