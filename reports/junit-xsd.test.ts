/**
 * The JUnit output is checked against `reports/schema/junit.xsd` with xmllint (Debian package
 * libxml2-utils). Without xmllint the test says so and skips; CI installs it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toJUnit } from './junit.js';
import { fixture, secondRun } from './__test-helpers__/fixture.js';

const XSD = fileURLToPath(new URL('./schema/junit.xsd', import.meta.url));
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;
if (!hasXmllint) console.warn('junit-xsd.test: xmllint not found (apt-get install libxml2-utils); skipping the schema check');

function xmllint(xml: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vhl-junit-'));
  const file = join(dir, 'junit.xml');
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!hasXmllint)('JUnit output against junit.xsd (xmllint)', () => {
  it('the schema itself is well-formed XML', () => {
    expect(() => execFileSync('xmllint', ['--noout', XSD])).not.toThrow();
  });
  it('accepts the fixture, one run and several', () => {
    for (const xml of [toJUnit(fixture()), toJUnit([fixture(), secondRun()])]) {
      const r = xmllint(xml);
      expect(r.output).toMatch(/validates/);
      expect(r.ok).toBe(true);
    }
  });
  it('accepts a run with no cases', () => {
    expect(xmllint(toJUnit({ ...fixture(), cases: [], summary: { total: 0, pass: 0, fail: 0, skip: 0, waived: 0, error: 0 } })).ok).toBe(true);
  });
  it('rejects JUnit that readers would choke on (the check can fail)', () => {
    const xml = toJUnit(fixture());
    expect(xmllint(xml.replace(' classname="header"', '')).ok).toBe(false);
    expect(xmllint(xml.replace('failures="2"', 'failures="two"')).ok).toBe(false);
    expect(xmllint(xml.replace('<failure message=', '<failure msg=')).ok).toBe(false);
  });
});
