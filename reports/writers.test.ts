/**
 * Golden-file tests of the pure writers, plus structural checks that would catch a wrong golden
 * file being accepted. Regenerate the golden files after an intended change with
 * `UPDATE_GOLDEN=1 npx vitest run --project unit reports/writers`, then review the diff.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toHtml } from './html.js';
import { toJson } from './json.js';
import { toJUnit } from './junit.js';
import { toMarkdown } from './markdown.js';
import { toTap } from './tap.js';
import { parseResults } from './validate.js';
import { fixture, GOLDEN_DIR, secondRun } from './__test-helpers__/fixture.js';

const CHART_STUB = '/* chart.js stub */';

function golden(name: string, actual: string): void {
  const url = new URL(name, GOLDEN_DIR);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(url, actual);
  expect(existsSync(url), `${name} is missing: run with UPDATE_GOLDEN=1 and review it`).toBe(true);
  expect(actual).toBe(readFileSync(url, 'utf8'));
}

describe('golden files', () => {
  it('JSON', () => golden('fixture.out.json', toJson(fixture())));
  it('JUnit', () => golden('fixture.junit.xml', toJUnit(fixture())));
  it('TAP', () => golden('fixture.tap', toTap(fixture())));
  it('Markdown', () => golden('fixture.md', toMarkdown(fixture())));
  it('HTML', () => golden('fixture.html', toHtml(fixture(), { chartLibrary: CHART_STUB })));
  it('JUnit, several runs', () => golden('two-runs.junit.xml', toJUnit([fixture(), secondRun()])));
  it('TAP, several runs', () => golden('two-runs.tap', toTap([fixture(), secondRun()])));
  it('Markdown, several runs', () => golden('two-runs.md', toMarkdown([fixture(), secondRun()])));
});

describe('toJson', () => {
  it('round-trips through parseResults, one run or several', () => {
    expect(parseResults(toJson(fixture()), 'x')).toEqual([fixture()]);
    expect(parseResults(toJson([fixture(), secondRun()]), 'x')).toEqual([fixture(), secondRun()]);
  });
});

describe('toJUnit', () => {
  const xml = toJUnit(fixture());
  it('has one suite per area, with the counts', () => {
    expect([...xml.matchAll(/<testsuite name="([^"]+)"/g)].map((m) => m[1])).toEqual(['header', 'reply-ack', 'session', 'memory', 'ring']);
    expect(xml).toContain('<testsuite name="reply-ack" tests="2" failures="2" errors="0" skipped="0" time="0.054"');
    expect(xml).toMatch(/<testsuites name="vhostlab" tests="11" failures="3" errors="1" time="48\.213">/);
  });
  it('puts requirement ids, expected and actual in the failure message', () => {
    expect(xml).toContain(
      '<failure message="VU-PF-004, VU-MSG-012: expected one of: REPLY_ACK u64 != 0 / connection closed; actual SET_VRING_NUM reply u64=0&#10;(then GET_FEATURES answered normally)" type="MUST">',
    );
    expect(xml).toContain('classname="reply-ack"');
  });
  it('maps error, skip and waived, and carries evidence in system-out', () => {
    expect(xml).toContain('<error message="VU-MSG-005: peer did not answer within 5000 ms &amp; the process exited &lt;signal SIGSEGV&gt;" type="error">');
    expect(xml).toContain('<skipped message="needs protocol feature CONFIGURE_MEM_SLOTS, which the back-end does not offer"/>');
    expect(xml).toContain('<skipped message="waived: waived by profile');
    expect(xml).toContain('<system-out>-&gt; sent [+0.1 ms] GET_FEATURES flags=0x9 size=0\n&lt;- recv [+0.9 ms] GET_FEATURES flags=0x5');
  });
  it('never lets forbidden characters or ]]> through', () => {
    expect(xml).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/);
    expect(xml).toContain('control byte \\u0001 in detail; CDATA end ]]&gt; in text');
  });
  it('prefixes suites and class names with the peer for several runs', () => {
    const two = toJUnit([fixture(), secondRun()]);
    expect(two).toContain('<testsuite name="reference: header"');
    expect(two).toContain('classname="dpdk-testpmd.reply-ack"');
    expect(two).toMatch(/<testsuites name="vhostlab" tests="14" failures="3" errors="1"/);
  });
});

describe('toTap', () => {
  const tap = toTap(fixture());
  it('is a TAP 14 stream with a plan and one point per case', () => {
    const lines = tap.split('\n');
    expect(lines[0]).toBe('TAP version 14');
    expect(lines).toContain('1..11');
    expect(lines.filter((l) => /^(not )?ok \d+ /.test(l))).toHaveLength(11);
    expect(lines.filter((l) => /^not ok \d+ /.test(l) && !l.includes('# TODO'))).toHaveLength(4);
  });
  it('uses SKIP and TODO directives and escapes # in descriptions', () => {
    expect(tap).toContain('ok 8 - backend/memory/add-mem-reg - ADD_MEM_REG maps one region per message # SKIP needs protocol feature');
    expect(tap).toMatch(/^not ok 6 - backend\/session\/set-owner-twice - .* # TODO waived: /m);
    expect(toTap({ ...fixture(), cases: [{ ...fixture().cases[0], title: 'a # b \\ c' }], summary: { total: 1, pass: 1, fail: 0, skip: 0, waived: 0, error: 0 } })).toContain(
      'ok 1 - backend/header/reply-flags - a \\# b \\\\ c',
    );
  });
  it('writes YAML diagnostics with quoted scalars', () => {
    expect(tap).toContain('  severity: fail\n');
    expect(tap).toContain('  actual: "SET_VRING_NUM reply u64=0\\n(then GET_FEATURES answered normally)"');
    expect(tap).toContain('  requirements: ["VU-PF-004", "VU-MSG-012"]');
  });
  it('makes each run a subtest when there are several', () => {
    const two = toTap([fixture(), secondRun()]).split('\n');
    expect(two.slice(0, 3)).toEqual(['TAP version 14', '1..2', '# Subtest: dpdk-testpmd']);
    expect(two).toContain('not ok 1 - dpdk-testpmd');
    expect(two).toContain('ok 2 - reference');
    expect(two).toContain('    1..3');
  });
});

describe('toMarkdown', () => {
  const md = toMarkdown(fixture());
  it('opens with the verdict and the totals', () => {
    expect(md.split('\n')[0]).toBe('## ❌ vhostlab: 3 failed, 1 error (11 cases; 1 waived, 1 skipped)');
    expect(md).toContain('| dpdk\\-testpmd (server, net) | 11 | 5 | 3 | 1 | 1 | 1 | 48.2 s |'.replace('\\-', '-'));
  });
  it('lists exactly the failing cases, with cells escaped', () => {
    const section = md.slice(md.indexOf('### Failures'), md.indexOf('<details>'));
    const rows = section.split('\n').filter((l) => l.startsWith('| `'));
    expect(rows.map((r) => r.split(' | ')[0].slice(3, -1).split('`')[0])).toEqual([
      'backend/header/oversized-size',
      'backend/reply-ack/nack-on-handler-failure',
      'backend/reply-ack/exactly-one-reply',
      'backend/ring/used-idx-bound',
    ]);
    expect(md).toContain('| MUST | VU\\-PF\\-004, VU\\-MSG\\-012 |'.replace(/\\-/g, '-'));
    expect(md).toContain('SET\\_VRING\\_NUM reply u64=0<br>(then GET\\_FEATURES answered normally)');
    expect(md).toContain('&lt;tag&gt;');
  });
  it('shows paired benchmarks side by side with the ratio', () => {
    expect(md).toContain('| benchmark (Mpps) | vhostlab | dpdk | vhostlab / dpdk |');
    expect(md).toContain('| frontend→backend (ring=split, size=64) | 3.12 | 20.7 | 15.1 % |');
    expect(md).toContain('| handshake (mode=server) | 912.5 |');
  });
  it('says all passed for a clean run', () => {
    expect(toMarkdown(secondRun()).split('\n')[0]).toBe('## ✅ vhostlab: all 3 passed (3 cases)');
  });
  it('heads a bench run (figures, no cases) with its figures and goals, not "all 0 passed"', () => {
    const bench = { ...secondRun(), cases: [], summary: { total: 0, pass: 0, fail: 0, skip: 0, waived: 0, error: 0 }, benchmarks: [
      { name: 'backend-loop-ratio', unit: 'ratio', value: 0.447, params: { impl: 'vhostlab', size: 64, goal: 0.5 } },
      { name: 'frontend-loop-ratio', unit: 'ratio', value: 0.55, params: { impl: 'vhostlab', size: 64, goal: 0.5 } },
    ] };
    const out = toMarkdown(bench);
    expect(out.split('\n')[0]).toBe('## 📊 vhostlab: benchmarks (2 figures, 1 goal not met)');
    expect(out).not.toContain('| peer | total |');
    expect(out).toContain('| backend-loop-ratio (impl=vhostlab, size=64) | 0.447 ratio | 0.5 | ❌ not met |');
    expect(out).toContain('✅ met');
  });
  it('stays within its byte budget: evidence goes first, then failure rows, each cut said', () => {
    const doc = fixture();
    const full = toMarkdown(doc);
    expect(full).toContain('<details><summary>Evidence');
    const lean = toMarkdown(doc, { maxBytes: Buffer.byteLength(full) - 1 });
    expect(lean).not.toContain('<details><summary>Evidence');
    expect(lean).toContain('Evidence is left out');
    const tight = toMarkdown(doc, { maxBytes: Buffer.byteLength(lean) - 1 });
    expect(Buffer.byteLength(tight)).toBeLessThanOrEqual(Buffer.byteLength(lean) - 1);
    expect(tight).toMatch(/\d+ more failures are not shown/);
  });
});

describe('toHtml', () => {
  const html = toHtml(fixture(), { chartLibrary: CHART_STUB });
  it('needs no network: a CSP forbids it and nothing is loaded from elsewhere', () => {
    expect(html).toContain(`content="default-src 'none'; script-src 'unsafe-inline'`);
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
  });
  it('renders one row per case with its status, and detail rows', () => {
    expect(html.match(/<tr class="case"/g)).toHaveLength(11);
    expect(html.match(/<tr class="detail"/g)).toHaveLength(11);
    expect(html.match(/data-status="fail"/g)).toHaveLength(3);
  });
  it('escapes every text', () => {
    expect(html).toContain('&lt;tag&gt; &amp; ampersand');
    expect(html).not.toContain('<oops>');
  });
  it('lists the requirement coverage with the worst status', () => {
    expect(html).toMatch(/<tr><td><code>VU-MSG-012<\/code><\/td><td><span class="badge fail">fail<\/span>/);
    expect(html.indexOf('VU-MSG-001</code>')).toBeLessThan(html.indexOf('VU-MSG-002</code>'));
  });
  it('inlines the real Chart.js build by default', () => {
    const full = toHtml(fixture());
    expect(full.length).toBeGreaterThan(html.length + 100_000);
    expect(full).not.toMatch(/<\/script(?!>\n<script|>\n<\/body)/);
  });
});
