/**
 * Where the published JSON Schema of `vhostlab.result/v1` lives, and the schema itself. The
 * JSON file is the single source of truth (it ships in the package under `reports/schema/`);
 * this module only finds it, from the sources (`reports/schema.ts`) and from the build
 * (`dist/reports/schema.js`) alike.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FILE = 'result-v1.schema.json';

// Tried in order: next to the source file, then from dist/reports/ back to the package root.
const CANDIDATES = [`./schema/${FILE}`, `../../reports/schema/${FILE}`];

/** Absolute path of `result-v1.schema.json`; throws when the package is incomplete. */
export function resultSchemaPath(): string {
  for (const rel of CANDIDATES) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error(`reports: ${FILE} not found next to ${fileURLToPath(import.meta.url)}`);
}

let cached: Record<string, unknown> | undefined;

/** The parsed JSON Schema of `vhostlab.result/v1` (read once). */
export function resultSchema(): Record<string, unknown> {
  cached ??= JSON.parse(readFileSync(resultSchemaPath(), 'utf8')) as Record<string, unknown>;
  return cached;
}
