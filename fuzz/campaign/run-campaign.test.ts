import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { runCampaign } from './run-campaign.js';
import { Finding, FindingKind } from './finding.js';
import { KnownFindings, findingSignature } from './known.js';

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

  it('passes over findings of a known class, in the search and while shrinking', async () => {
    // Two bugs of one kind: 10..499 is known; 500 and up is new. Shrinking the new one passes
    // through the known range, which must not become the result.
    const known = new KnownFindings([{ signature: findingSignature(FindingKind.CRASH, 'small n=3 crashes'), label: 'small.json' }]);
    const met: string[] = [];
    const r = await runCampaign({
      arbitrary: fc.integer({ min: 0, max: 100_000 }),
      execute: async (n) => {
        if (n >= 500) throw new Finding(FindingKind.CRASH, `big n=${n} crashes`);
        if (n >= 10) throw new Finding(FindingKind.CRASH, `small n=${n} crashes`);
      },
      seed: 7, runs: 500, known, onKnown: (h) => met.push(h.label),
    });
    expect(r.finding?.input).toBe(500);
    expect(r.finding?.finding.summary).toBe('big n=500 crashes');
    expect(met).toEqual(['small.json']);
    expect(r.known).toEqual([{ label: 'small.json', signature: 'crash: small n=# crashes', count: expect.any(Number) as number }]);
  });

  it('signatures mask numbers but keep requirement ids and names', () => {
    expect(findingSignature('state-loss', 'slot 9 used with buffer id 0x3f (VU-PK-002), 12.5 ms')).toBe('state-loss: slot # used with buffer id 0x# (VU-PK-002), # ms');
    expect(findingSignature('crash', 'killed by SIGSEGV  after\nSET_VRING_NUM 0')).toBe('crash: killed by SIGSEGV after SET_VRING_NUM #');
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
