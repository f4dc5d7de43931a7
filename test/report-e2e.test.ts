/**
 * Reports end to end (issue 6's check): a suite run writes every format; the JUnit file passes the
 * JUnit schema; the HTML of a run against a back-end with a fault switched on shows its failing
 * cases in Chromium with no console error; `report diff` between the clean and the faulty run
 * names exactly the cases that regressed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'bin/vhostlab.cjs');
const vhostlab = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 240_000 });
const CHROMIUM = process.env.VHOSTLAB_CHROMIUM ?? '/usr/bin/chromium';
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;
// The fault makes GET_VRING_BASE answer base + 1 (VU-RING-004); only ring-state cases should notice.
const FAULT = 'wrong-ring-base';
const ONLY = ['backend/ring-states', 'framing', 'backend/reconnect'];

describe('reports from real suite runs', () => {
  let dir: string;
  let clean: string;
  let faulty: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vhostlab-report-e2e-'));
    clean = join(dir, 'clean');
    faulty = join(dir, 'faulty');
    const only = ONLY.flatMap((p) => ['--only', p]);
    const a = vhostlab('conformance', '--builtin', '--report-dir', clean, ...only);
    expect(a.status, a.stderr).toBe(0);
    const b = vhostlab('conformance', '--backend', `${process.execPath} ${cli} backend --socket {socket} --fault ${FAULT}`,
      '--mode', 'server', '--type', 'net', '--report-dir', faulty, ...only);
    expect(b.status, b.stderr).toBe(1);
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes result.json, junit.xml, report.html and summary.md', () => {
    for (const d of [clean, faulty]) {
      for (const f of ['result.json', 'junit.xml', 'report.html', 'summary.md']) expect(existsSync(join(d, f)), `${d}/${f}`).toBe(true);
    }
    const doc = JSON.parse(readFileSync(join(faulty, 'result.json'), 'utf8'));
    expect(doc.schema).toBe('vhostlab.result/v1');
    expect(doc.summary.fail).toBeGreaterThan(0);
  });

  it.skipIf(!hasXmllint)('writes JUnit XML that passes the JUnit schema', () => {
    for (const d of [clean, faulty]) {
      const r = spawnSync('xmllint', ['--noout', '--schema', join(root, 'reports/schema/junit.xsd'), join(d, 'junit.xml')], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
  });

  it('report diff names exactly the cases that regressed, and exits 1', () => {
    const before = JSON.parse(readFileSync(join(clean, 'result.json'), 'utf8'));
    const after = JSON.parse(readFileSync(join(faulty, 'result.json'), 'utf8'));
    const passedBefore = new Set(before.cases.filter((c: { status: string }) => c.status === 'pass').map((c: { id: string }) => c.id));
    const regressed = after.cases.filter((c: { id: string; status: string }) => c.status === 'fail' && passedBefore.has(c.id)).map((c: { id: string }) => c.id).sort();
    expect(regressed.length).toBeGreaterThan(0);
    expect(regressed.every((id: string) => id.startsWith('backend/ring-states') || id.startsWith('backend/reconnect'))).toBe(true);
    const r = vhostlab('report', 'diff', join(clean, 'result.json'), join(faulty, 'result.json'), '--json');
    expect(r.status).toBe(1);
    const diff = JSON.parse(r.stdout);
    expect(diff.newFailures.map((c: { id: string } | string) => (typeof c === 'string' ? c : c.id)).sort()).toEqual(regressed);
  });

  it.skipIf(!existsSync(CHROMIUM))('the faulty run\'s HTML shows its failing cases in Chromium with no console error', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM, timeout: 20_000,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(pathToFileURL(join(faulty, 'report.html')).href, { waitUntil: 'load' });
      const doc = JSON.parse(readFileSync(join(faulty, 'result.json'), 'utf8'));
      const failing = doc.cases.filter((c: { status: string }) => c.status === 'fail').map((c: { id: string }) => c.id);
      const text = await page.textContent('body');
      for (const id of failing) expect(text).toContain(id);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
