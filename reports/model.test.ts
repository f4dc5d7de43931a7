import { describe, expect, it } from 'vitest';
import { isEvidenceMessage, isFailing, summarize } from './model.js';
import { fixture } from './__test-helpers__/fixture.js';

describe('summarize', () => {
  it('counts every status and the total', () => {
    expect(summarize(fixture().cases)).toEqual({ total: 11, pass: 5, fail: 3, skip: 1, waived: 1, error: 1 });
  });
  it('gives zeros for no cases', () => {
    expect(summarize([])).toEqual({ total: 0, pass: 0, fail: 0, skip: 0, waived: 0, error: 0 });
  });
});

describe('isFailing / isEvidenceMessage', () => {
  it('fails a run on fail and error only', () => {
    expect(['pass', 'fail', 'skip', 'waived', 'error'].filter((s) => isFailing(s as never))).toEqual(['fail', 'error']);
  });
  it('tells messages from notes', () => {
    expect(isEvidenceMessage({ dir: 'sent', message: 'GET_FEATURES' })).toBe(true);
    expect(isEvidenceMessage({ note: 'closed' })).toBe(false);
  });
});
