import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// @ts-expect-error -- plain .mjs script without type declarations
import { parseChecklist, renderCatalogue } from '../../scripts/gen-requirements.mjs';
import { loadRequirements, loadUnobservable } from './index.js';
import { allCases } from '../cases/index.js';

const checklist = fileURLToPath(new URL('../../../shared/spec/CHECKLIST.md', import.meta.url));
const committed = fileURLToPath(new URL('./vhost-user.json', import.meta.url));

describe('requirement catalogue', () => {
  it('holds the 199 requirements of CHECKLIST §5 with unique ids and known levels', () => {
    const reqs = loadRequirements();
    expect(reqs).toHaveLength(199);
    expect(new Set(reqs.map((r) => r.id)).size).toBe(199);
    for (const r of reqs) expect(['MUST', 'SHOULD', 'MAY', 'ROBUST', 'INTEROP', 'INFORMATIVE']).toContain(r.level);
    expect(reqs.find((r) => r.id === 'VU-MSG-001')).toMatchObject({ level: 'MUST', tier: 'T0' });
    expect(reqs.find((r) => r.id === 'VU-PF-007')).toMatchObject({ level: 'MUST', tier: 'T2' });
  });

  it.runIf(existsSync(checklist))('matches the checklist it was generated from', () => {
    const text = renderCatalogue(parseChecklist(readFileSync(checklist, 'utf8')));
    expect(readFileSync(committed, 'utf8')).toBe(text);
  });

  it('every case cites known requirement ids and has a unique id', () => {
    const ids = new Set(loadRequirements().map((r) => r.id));
    for (const c of allCases) for (const r of c.requirements) expect(ids.has(r), `${c.id} cites ${r}`).toBe(true);
    expect(new Set(allCases.map((c) => c.id)).size).toBe(allCases.length);
  });

  // What `conformance --coverage` promises (issue 4 item 1): every T0 MUST/ROBUST requirement has
  // a case or a reason it cannot be observed from the front-end's side, and a reason is never
  // left standing for a requirement that has since gained a case.
  it('leaves no T0 MUST/ROBUST requirement without a case or a reason, and no reason beside a case', () => {
    const cited = new Set(allCases.flatMap((c) => c.requirements));
    const reasons = new Set(loadUnobservable().map((e) => e.id));
    const t0 = loadRequirements().filter((r) => r.tier === 'T0' && (r.level === 'MUST' || r.level === 'ROBUST'));
    expect(t0.filter((r) => !cited.has(r.id) && !reasons.has(r.id)).map((r) => r.id)).toEqual([]);
    expect([...reasons].filter((id) => cited.has(id))).toEqual([]);
  });
});
