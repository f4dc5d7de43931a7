/**
 * The golden fixture (`reports/__golden__/fixture.json`): passes, failures with expected/actual
 * and evidence, a skip, a waived case, an error, awkward characters, and paired benchmarks.
 * Each call returns a fresh deep copy, so a test may mutate it.
 * @module
 */
import { readFileSync } from 'node:fs';
import type { ResultDocument } from '../model.js';

/** Folder of the golden files. */
export const GOLDEN_DIR = new URL('../__golden__/', import.meta.url);

const text = readFileSync(new URL('fixture.json', GOLDEN_DIR), 'utf8');

/** A fresh copy of the fixture document. */
export function fixture(): ResultDocument {
  return JSON.parse(text) as ResultDocument;
}

/** A second, passing run against another peer, for the several-runs paths. */
export function secondRun(): ResultDocument {
  const doc = fixture();
  doc.backend = { profile: 'reference', command: 'vhostlab backend --socket {socket}', mode: 'client', deviceType: 'net' };
  doc.cases = doc.cases.slice(0, 3).map((c) => ({ ...c, status: 'pass', detail: '', expected: undefined, actual: undefined }));
  doc.benchmarks = [{ name: 'loopback', unit: 'Mpps', value: 1.2, params: { impl: 'vhostlab', size: 64, ring: 'split' } }];
  doc.summary = { total: 3, pass: 3, fail: 0, skip: 0, waived: 0, error: 0 };
  return JSON.parse(JSON.stringify(doc)) as ResultDocument;
}
