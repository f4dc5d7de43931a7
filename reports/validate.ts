/**
 * Checks that an unknown value (a parsed result file) is a `vhostlab.result/v1` document, and
 * loads result files with errors that name the file and every problem.
 *
 * Structure is checked by Ajv against the published JSON Schema, so the schema users download
 * and the check the tool applies cannot drift apart. Two facts a schema cannot state are checked
 * here: `startedAt` parses as a date, and `summary` agrees with `cases`.
 * @module
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import { ResultFileError } from './errors.js';
import { RESULT_SCHEMA, summarize, type ResultDocument, type ResultSummary } from './model.js';
import { resultSchema } from './schema.js';

/** At most this many problems are listed; past that the document is plainly something else. */
const MAX_PROBLEMS = 20;

let validator: ValidateFunction | undefined;

function compiled(): ValidateFunction {
  // `date-time` is checked below by hand; Ajv's formats live in a separate package.
  validator ??= new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, validateFormats: false }).compile(resultSchema());
  return validator;
}

function describe(e: ErrorObject): string {
  const where = e.instancePath === '' ? 'document' : e.instancePath;
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'enum') return `${where}: must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'const') return `${where}: must be ${JSON.stringify(p.allowedValue)}`;
  return `${where}: ${e.message ?? e.keyword}`;
}

/**
 * Lists what keeps `value` from being a valid `vhostlab.result/v1` document; an empty list means
 * it is one. Problems read like `/cases/3/status: must be one of "pass", …`.
 */
export function validateResult(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['document: must be a JSON object'];
  const schema = (value as { schema?: unknown }).schema;
  if (schema !== RESULT_SCHEMA) {
    // Any other schema makes every later message noise; say the one thing that matters.
    return [`document: schema is ${JSON.stringify(schema)}, expected ${JSON.stringify(RESULT_SCHEMA)}`];
  }
  const validate = compiled();
  const problems: string[] = [];
  if (!validate(value)) {
    const seen = new Set<string>();
    for (const e of validate.errors ?? []) {
      // oneOf over the evidence shapes reports each branch; the summary line is enough.
      if (e.schemaPath.includes('/oneOf/')) continue;
      const text = e.keyword === 'oneOf' ? `${e.instancePath}: must be a message {dir, message} or a note {note}` : describe(e);
      if (!seen.has(text)) problems.push(text), seen.add(text);
    }
    return problems.slice(0, MAX_PROBLEMS);
  }
  const doc = value as ResultDocument;
  if (Number.isNaN(Date.parse(doc.startedAt))) problems.push(`/startedAt: ${JSON.stringify(doc.startedAt)} is not an ISO-8601 date-time`);
  const want = summarize(doc.cases);
  const keys = Object.keys(want) as (keyof ResultSummary)[];
  const wrong = keys.filter((k) => doc.summary[k] !== want[k]);
  if (wrong.length > 0) {
    problems.push(`/summary: does not match the cases (${wrong.map((k) => `${k} ${doc.summary[k]}, cases say ${want[k]}`).join(', ')})`);
  }
  return problems;
}

/** Type guard form of {@link validateResult}. */
export function isResultDocument(value: unknown): value is ResultDocument {
  return validateResult(value).length === 0;
}

/**
 * Parses the text of a result file: one document, or a JSON array of documents (what `toJson`
 * writes for several runs). Throws {@link ResultFileError} naming `source` and every problem.
 */
export function parseResults(text: string, source: string): ResultDocument[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ResultFileError('VHL_REPORT_NOT_JSON', source, [`not valid JSON (${(err as Error).message})`], { cause: err });
  }
  const docs = Array.isArray(value) ? value : [value];
  if (docs.length === 0) throw new ResultFileError('VHL_REPORT_INVALID', source, ['an empty array holds no result document']);
  const problems: string[] = [];
  docs.forEach((d, i) => {
    for (const p of validateResult(d)) problems.push(Array.isArray(value) ? `[${i}] ${p}` : p);
  });
  if (problems.length > 0) {
    throw new ResultFileError('VHL_REPORT_INVALID', source, [`not a ${RESULT_SCHEMA} document: ${problems.join('; ')}`]);
  }
  return docs as ResultDocument[];
}

/** Reads and parses a result file; throws {@link ResultFileError} (unreadable, not JSON, invalid). */
export function loadResultFile(path: string): ResultDocument[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new ResultFileError('VHL_REPORT_UNREADABLE', path, [`cannot read (${why})`], { cause: err });
  }
  return parseResults(text, path);
}
