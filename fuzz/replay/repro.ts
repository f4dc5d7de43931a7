/**
 * The reproducer file (`vhostlab.repro/v1`): one JSON document per shrunk failure, written by every
 * fuzzer (`ffi`, `protocol`, `reconnect`, `memory`, `datapath`) and read back by
 * `vhostlab fuzz --replay FILE` and by the regression tests over `fuzz/corpus/`.
 *
 * A reproducer carries the failing input twice: as exact bytes (base64) for replay, and as a
 * message list for people. It also carries the fast-check `seed` + `path` (and the generator
 * `params`) so the same counterexample can be regenerated through the arbitrary, which keeps a
 * reproducer useful even after the byte encoding of a message family changes.
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findingSignature } from '../campaign/known.js';
import { ReproFormatError } from './errors.js';

/** Schema tag of the current format. */
export const REPRO_SCHEMA = 'vhostlab.repro/v1';

/** Which fuzzer wrote a reproducer; `--replay` dispatches on it. */
export const ReproKind = {
  FFI: 'ffi',
  PROTOCOL: 'protocol',
  RECONNECT: 'reconnect',
  MEMORY: 'memory',
  DATAPATH: 'datapath',
} as const;

/** One of {@link ReproKind}. */
export type ReproKindValue = (typeof ReproKind)[keyof typeof ReproKind];

/** One message of the failing input, for people (the bytes are authoritative). */
export interface ReproMessage {
  /** Spec name (`SET_MEM_TABLE`), or `UNKNOWN(n)`. */
  readonly request: string;
  /** Request code on the wire. */
  readonly code: number;
  /** Header flags word. */
  readonly flags: number;
  /** Header size field (may lie about the payload that follows). */
  readonly size: number;
  /** Decoded payload in short form, or why it did not decode. */
  readonly detail: string;
}

/** The failing input. */
export interface ReproInput {
  /** The exact bytes, base64. */
  readonly base64: string;
  /** Length of the bytes. */
  readonly length: number;
  /** The bytes read as a message stream, when that reading makes sense for the kind. */
  readonly messages?: readonly ReproMessage[];
}

/** How the run failed. */
export interface ReproFailure {
  /**
   * `crash` (signal or sanitizer report), `exit` (the target exited), `hang` (time-out); the live
   * fuzzers add `fd-leak`, `liveness` (no fresh session or no traffic afterwards), `state-loss`
   * (descriptors lost or completed twice across a reconnect) and `corruption`.
   */
  readonly kind: 'crash' | 'exit' | 'hang' | 'fd-leak' | 'liveness' | 'state-loss' | 'corruption';
  /** Signal name that ended the process, if any (`SIGSEGV`). */
  readonly signal?: string;
  /** Exit code, if the process exited. */
  readonly exitCode?: number;
  /** One-line summary, e.g. `AddressSanitizer: stack-buffer-overflow` or `signal SIGSEGV`. */
  readonly summary: string;
  /** The tail of the target's stderr (sanitizer report), trimmed. */
  readonly stderr?: string;
  /**
   * The finding's class as found (kind + summary with numbers masked; `fuzz/campaign/known.ts`):
   * what `--known` matches, so an edited summary does not change it. Filled in by {@link makeRepro}.
   */
  readonly signature?: string;
}

/** A reproducer document. */
export interface Repro {
  /** Always {@link REPRO_SCHEMA}. */
  readonly schema: typeof REPRO_SCHEMA;
  /** The fuzzer that wrote it. */
  readonly kind: ReproKindValue;
  /** When it was written (ISO-8601). */
  readonly createdAt: string;
  /** vhostlab version that wrote it. */
  readonly vhostlab: string;
  /** fast-check seed of the run. */
  readonly seed: number;
  /** fast-check replay path of the shrunk counterexample (`fc.check(…, {seed, path})`). */
  readonly path: string;
  /** What was fuzzed: a library path (ffi), a profile or back-end command (protocol…). */
  readonly target: string;
  /** Generator settings needed to regenerate the input from `seed` + `path`. */
  readonly params: Readonly<Record<string, unknown>>;
  /** The failing input. */
  readonly input: ReproInput;
  /** How it failed. */
  readonly failure: ReproFailure;
}

/** What a fuzzer provides; {@link writeRepro} fills in schema, time, version and encodings. */
export interface NewRepro {
  readonly kind: ReproKindValue;
  readonly seed: number;
  readonly path: string;
  readonly target: string;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly input: Uint8Array;
  readonly messages?: readonly ReproMessage[];
  readonly failure: ReproFailure;
  /** vhostlab version; default: read from the package.json above this module. */
  readonly version?: string;
}

/** Builds the document for `r` without writing it. */
export function makeRepro(r: NewRepro): Repro {
  return {
    schema: REPRO_SCHEMA,
    kind: r.kind,
    createdAt: new Date().toISOString(),
    vhostlab: r.version ?? toolVersion(),
    seed: r.seed,
    path: r.path,
    target: r.target,
    params: r.params ?? {},
    input: {
      base64: Buffer.from(r.input.buffer, r.input.byteOffset, r.input.byteLength).toString('base64'),
      length: r.input.byteLength,
      ...(r.messages !== undefined ? { messages: r.messages } : {}),
    },
    failure: { ...r.failure, signature: r.failure.signature ?? findingSignature(r.failure.kind, r.failure.summary) },
  };
}

/**
 * Writes `r` into `dir` (created if missing) as `<kind>-<failure>-<sha1 of input, 12 hex>.json`
 * and returns the path. The name depends on the input only, so finding the same failure twice
 * overwrites one file instead of piling up copies.
 */
export function writeRepro(dir: string, r: NewRepro): string {
  const doc = makeRepro(r);
  const hash = createHash('sha1').update(r.input).digest('hex').slice(0, 12);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${doc.kind}-${doc.failure.kind}-${hash}.json`);
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}

/** The failing input's bytes. */
export const reproBytes = (r: Repro): Uint8Array => new Uint8Array(Buffer.from(r.input.base64, 'base64'));

const KINDS: readonly string[] = Object.values(ReproKind);
const FAILURE_KINDS: readonly string[] = ['crash', 'exit', 'hang', 'fd-leak', 'liveness', 'state-loss', 'corruption'];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Reads and checks a reproducer. Throws {@link ReproFormatError} naming the file and the first
 * problem: unreadable file, bad JSON, wrong schema, or a missing or mistyped field.
 */
export function readRepro(file: string): Repro {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ReproFormatError(file, `cannot read it (${(cause as Error).message})`, cause);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new ReproFormatError(file, `not JSON (${(cause as Error).message})`, cause);
  }
  const reason = checkRepro(doc);
  if (reason !== undefined) throw new ReproFormatError(file, reason);
  return doc as Repro;
}

/** Structural check of a parsed document: `undefined` when it is a v1 reproducer, else why not. */
export function checkRepro(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'the top level must be an object';
  const d = doc as Record<string, unknown>;
  if (d.schema !== REPRO_SCHEMA) return `schema must be "${REPRO_SCHEMA}", got ${JSON.stringify(d.schema)}`;
  if (typeof d.kind !== 'string' || !KINDS.includes(d.kind)) return `kind must be one of ${KINDS.join(', ')}, got ${JSON.stringify(d.kind)}`;
  if (typeof d.seed !== 'number' || !Number.isInteger(d.seed)) return 'seed must be an integer';
  if (typeof d.path !== 'string') return 'path must be a string';
  if (typeof d.target !== 'string') return 'target must be a string';
  if (typeof d.vhostlab !== 'string') return 'vhostlab (version) must be a string';
  if (d.params !== undefined && (typeof d.params !== 'object' || d.params === null)) return 'params must be an object';
  const input = d.input as Record<string, unknown> | undefined;
  if (typeof input !== 'object' || input === null) return 'input must be an object';
  if (typeof input.base64 !== 'string' || !BASE64.test(input.base64)) return 'input.base64 must be a base64 string';
  const length = Buffer.from(input.base64, 'base64').byteLength;
  if (input.length !== length) return `input.length ${String(input.length)} does not match the ${length} bytes of input.base64`;
  if (input.messages !== undefined && !Array.isArray(input.messages)) return 'input.messages must be an array';
  const failure = d.failure as Record<string, unknown> | undefined;
  if (typeof failure !== 'object' || failure === null) return 'failure must be an object';
  if (typeof failure.kind !== 'string' || !FAILURE_KINDS.includes(failure.kind)) return `failure.kind must be one of ${FAILURE_KINDS.join(', ')}`;
  if (typeof failure.summary !== 'string') return 'failure.summary must be a string';
  if (failure.signature !== undefined && typeof failure.signature !== 'string') return 'failure.signature must be a string';
  return undefined;
}

let cachedVersion: string | undefined;

/** vhostlab's version from the package.json above this module (works from source and from dist). */
export function toolVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = new URL('.', import.meta.url);
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'vhostlab' && typeof pkg.version === 'string') return (cachedVersion = pkg.version);
    } catch {
      // Not here; look one folder up.
    }
    dir = new URL('..', dir);
  }
  return (cachedVersion = 'unknown');
}
