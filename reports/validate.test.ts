import { Ajv2020 } from 'ajv/dist/2020.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResultFileError } from './errors.js';
import { resultSchemaPath } from './schema.js';
import { loadResultFile, parseResults, validateResult } from './validate.js';
import { fixture, secondRun } from './__test-helpers__/fixture.js';

describe('published JSON Schema', () => {
  const schema = JSON.parse(readFileSync(resultSchemaPath(), 'utf8')) as Record<string, unknown>;
  const validate = new Ajv2020({ strict: true, allowUnionTypes: true, validateFormats: false }).compile(schema);

  it('accepts the sample documents', () => {
    for (const doc of [fixture(), secondRun()]) expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  });
  it('rejects a document with an unknown status', () => {
    const doc = fixture();
    (doc.cases[0] as { status: string }).status = 'xfail';
    expect(validate(doc)).toBe(false);
  });
  it('is the file the package publishes', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('reports/schema');
    expect(resultSchemaPath()).toMatch(/reports\/schema\/result-v1\.schema\.json$/);
  });
});

describe('validateResult', () => {
  it('finds nothing wrong with the fixture', () => {
    expect(validateResult(fixture())).toEqual([]);
  });
  it('rejects non-objects and other schemas with one clear problem', () => {
    expect(validateResult([])).toEqual(['document: must be a JSON object']);
    expect(validateResult({ schema: 'vhostlab.result/v2' })).toEqual(['document: schema is "vhostlab.result/v2", expected "vhostlab.result/v1"']);
  });
  it('names the path and the allowed values', () => {
    const doc = fixture() as unknown as { cases: Record<string, unknown>[] };
    doc.cases[3].status = 'broken';
    delete doc.cases[1].title;
    doc.cases[2].evidence = [{ dir: 'sideways', message: 'x' }];
    const problems = validateResult(doc);
    expect(problems).toContain('/cases/3/status: must be one of "pass", "fail", "skip", "waived", "error"');
    expect(problems).toContain("/cases/1: must have required property 'title'");
    expect(problems).toContain('/cases/2/evidence/0: must be a message {dir, message} or a note {note}');
  });
  it('checks the summary against the cases and the start time', () => {
    const doc = fixture();
    doc.summary.fail = 2;
    doc.startedAt = 'yesterday';
    expect(validateResult(doc)).toEqual([
      '/startedAt: "yesterday" is not an ISO-8601 date-time',
      '/summary: does not match the cases (fail 2, cases say 3)',
    ]);
  });
});

describe('parseResults / loadResultFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vhl-reports-'));

  it('reads one document or an array of them', () => {
    expect(parseResults(JSON.stringify(fixture()), 'a.json')).toHaveLength(1);
    expect(parseResults(JSON.stringify([fixture(), secondRun()]), 'b.json')).toHaveLength(2);
  });
  it('names the file and the reason for text that is not JSON', () => {
    const err = (() => {
      try {
        parseResults('{"schema": ', 'broken.json');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ResultFileError);
    expect((err as ResultFileError).code).toBe('VHL_REPORT_NOT_JSON');
    expect((err as ResultFileError).message).toMatch(/^broken\.json: not valid JSON/);
  });
  it('names the file and every problem for an invalid document', () => {
    const doc = fixture();
    (doc.cases[0] as { level: string }).level = 'MAYBE';
    expect(() => parseResults(JSON.stringify([fixture(), doc]), 'runs.json')).toThrow(
      /^runs\.json: not a vhostlab\.result\/v1 document: \[1\] \/cases\/0\/level: must be one of "MUST"/,
    );
    expect(() => parseResults('[]', 'empty.json')).toThrow(/empty\.json: an empty array/);
  });
  it('loads a file and reports a missing one', () => {
    const p = join(dir, 'ok.json');
    writeFileSync(p, JSON.stringify(fixture()));
    expect(loadResultFile(p)[0].summary.total).toBe(11);
    expect(() => loadResultFile(join(dir, 'nope.json'))).toThrow(/nope\.json: cannot read \(no such file\)/);
  });
});
