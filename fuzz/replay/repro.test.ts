import { findingSignature } from '../campaign/known.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReproFormatError } from './errors.js';
import { REPRO_SCHEMA, readRepro, reproBytes, writeRepro, type NewRepro } from './repro.js';

const dir = mkdtempSync(join(tmpdir(), 'vhl-repro-'));
const sample: NewRepro = {
  kind: 'ffi',
  seed: 42,
  path: '17:0:3',
  target: '/lib/x.so',
  params: { mode: 'bytes' },
  input: Uint8Array.of(5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0),
  messages: [{ request: 'SET_MEM_TABLE', code: 5, flags: 1, size: 0, detail: 'SET_MEM_TABLE size=0' }],
  failure: { kind: 'crash', summary: 'signal SIGSEGV', signal: 'SIGSEGV' },
  version: '9.9.9',
};

function corrupt(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('reproducer files', () => {
  it('round-trips every field, bytes included', () => {
    const file = writeRepro(dir, sample);
    expect(file).toMatch(/ffi-crash-[0-9a-f]{12}\.json$/);
    const r = readRepro(file);
    expect(r.schema).toBe(REPRO_SCHEMA);
    expect(r).toMatchObject({ kind: 'ffi', seed: 42, path: '17:0:3', target: '/lib/x.so', vhostlab: '9.9.9', params: { mode: 'bytes' } });
    // The class --known matches is filled in from the summary as found.
    expect(r.failure).toEqual({ ...sample.failure, signature: findingSignature(sample.failure.kind, sample.failure.summary) });
    expect(r.input.messages).toEqual(sample.messages);
    expect(Array.from(reproBytes(r))).toEqual(Array.from(sample.input));
  });

  it('names the file after the input, so the same finding overwrites one file', () => {
    expect(writeRepro(dir, sample)).toBe(writeRepro(dir, { ...sample, seed: 7 }));
    expect(writeRepro(dir, { ...sample, input: Uint8Array.of(1) })).not.toBe(writeRepro(dir, sample));
  });

  it('reads the version from package.json when none is given', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const { version: _v, ...rest } = sample;
    expect(readRepro(writeRepro(dir, rest)).vhostlab).toBe(pkg.version);
  });

  it.each([
    ['not JSON', '{"schema": ', /not JSON/],
    ['another schema', JSON.stringify({ schema: 'vhostlab.result/v1' }), /schema must be "vhostlab.repro\/v1"/],
    ['an unknown kind', JSON.stringify({ schema: REPRO_SCHEMA, kind: 'teleport' }), /kind must be one of/],
    ['no input', JSON.stringify({ schema: REPRO_SCHEMA, kind: 'ffi', seed: 1, path: '', target: 't', vhostlab: '1' }), /input must be an object/],
  ])('rejects %s with a clear error naming the file', (_what, text, reason) => {
    const file = corrupt(`bad-${Math.random()}.json`, text);
    let err: unknown;
    try {
      readRepro(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReproFormatError);
    expect((err as ReproFormatError).code).toBe('VHU_ERR_REPRO_FORMAT');
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(reason);
  });

  it('rejects bytes that do not match the recorded length (a truncated edit)', () => {
    const doc = JSON.parse(readFileSync(writeRepro(dir, sample), 'utf8')) as { input: { base64: string } };
    doc.input.base64 = doc.input.base64.slice(0, 8);
    expect(() => readRepro(corrupt('trunc.json', JSON.stringify(doc)))).toThrow(/input.length 12 does not match the 6 bytes/);
  });

  it('rejects a missing file', () => {
    expect(() => readRepro(join(dir, 'nope.json'))).toThrow(/cannot read it/);
  });
});
