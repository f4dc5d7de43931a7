/**
 * The HTML report in a real browser: headless Chromium (Debian package `chromium`) driven by
 * playwright-core opens a report generated from the fixture, filters the table, checks that both
 * charts drew, that the page made no request and logged no error, and saves a screenshot to
 * `test-artifacts/`. Without /usr/bin/chromium the test says so and skips; CI installs it.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHtml } from './html.js';
import { fixture, secondRun } from './__test-helpers__/fixture.js';

const CHROMIUM = process.env.VHOSTLAB_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`html.browser.test: ${CHROMIUM} not found (apt-get install chromium); skipping the browser test`);

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

describe.skipIf(!hasChromium)('HTML report in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      timeout: 20_000,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** Opens a report, recording console errors, page errors and any request that is not the file itself. */
  async function open(html: string, name: string): Promise<{ page: Page; problems: string[]; requests: string[] }> {
    const dir = mkdtempSync(join(tmpdir(), 'vhl-html-'));
    const file = join(dir, name);
    writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.setDefaultTimeout(10_000);
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (r.url() !== pathToFileURL(file).href) requests.push(r.url());
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    return { page, problems, requests };
  }

  const visibleIds = (page: Page): Promise<string[]> =>
    page.$$eval('tr.case', (rows) => rows.filter((r) => !(r as HTMLElement).hidden).map((r) => r.querySelector('.cid')?.textContent ?? ''));

  it('filters, expands, draws both charts, logs no error and loads nothing', async () => {
    const { page, problems, requests } = await open(toHtml(fixture()), 'report.html');

    expect(await visibleIds(page)).toHaveLength(11);
    expect(await page.textContent('#shown')).toBe('11 of 11 cases');

    await page.click('#status-filter button[data-filter="failing"]');
    expect(await visibleIds(page)).toEqual([
      'backend/header/oversized-size',
      'backend/reply-ack/nack-on-handler-failure',
      'backend/reply-ack/exactly-one-reply',
      'backend/ring/used-idx-bound',
    ]);
    expect(await page.textContent('#shown')).toBe('4 of 11 cases');

    await page.fill('#search', 'vu-pf-004');
    expect(await visibleIds(page)).toEqual(['backend/reply-ack/nack-on-handler-failure']);

    // Expanding shows the evidence (the messages exchanged) and expected vs actual.
    await page.click('tr.case:not([hidden])');
    const detail = page.locator('tr.detail:not([hidden])');
    await expect.poll(() => detail.count()).toBe(1);
    expect(await detail.locator('ol.ev li').count()).toBe(4);
    expect(await detail.locator('.xa .act pre').textContent()).toContain('SET_VRING_NUM reply u64=0');

    await page.fill('#search', '');
    await page.selectOption('#level-filter', 'SHOULD');
    await page.click('#status-filter button[data-filter="all"]');
    expect(await visibleIds(page)).toEqual(['backend/session/set-owner-twice']);
    await page.selectOption('#level-filter', '');
    await page.fill('#search', 'no such case anywhere');
    expect(await page.isVisible('#no-match')).toBe(true);
    await page.fill('#search', '');

    const charts = await page.evaluate(() => {
      const w = window as unknown as { vhostlabCharts: { areas: unknown; benchmarks: unknown[] }; Chart: { getChart(c: HTMLCanvasElement): unknown } };
      const inked = (id: string): number => {
        const c = document.getElementById(id) as HTMLCanvasElement;
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) n++;
        return n;
      };
      return {
        areas: w.Chart.getChart(document.getElementById('chart-areas') as HTMLCanvasElement) !== undefined,
        benchCharts: w.vhostlabCharts.benchmarks.length,
        areaInk: inked('chart-areas'),
        benchInk: inked('chart-bench-0'),
      };
    });
    expect(charts.areas).toBe(true);
    expect(charts.benchCharts).toBe(2); // Mpps and ms
    expect(charts.areaInk).toBeGreaterThan(1000);
    expect(charts.benchInk).toBeGreaterThan(1000);

    // A coverage link brings its case back into view, expanded, whatever the filter.
    await page.click('#status-filter button[data-filter="pass"]');
    await page.click('#coverage a.case-link[href="#case-1"]');
    expect(await page.getAttribute('#case-1', 'aria-expanded')).toBe('true');
    expect(await visibleIds(page)).toHaveLength(11);
    await page.click('#case-1');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.click('#status-filter button[data-filter="failing"]');
    await page.click('tr.case:not([hidden]) >> nth=0'); // the error case; the NACK case is still open
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });

    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  it('handles several runs: a peer filter and no errors', async () => {
    const { page, problems } = await open(toHtml([fixture(), secondRun()]), 'two-runs.html');
    expect(await visibleIds(page)).toHaveLength(14);
    await page.selectOption('#run-filter', 'reference');
    expect(await visibleIds(page)).toEqual(['backend/header/reply-flags', 'backend/header/reply-request-id', 'backend/header/oversized-size']);
    await page.screenshot({ path: join(ARTIFACTS, 'report-two-runs.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });
});
