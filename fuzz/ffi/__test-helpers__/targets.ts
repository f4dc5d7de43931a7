/**
 * Test helpers: paths of the example targets (native/targets), built on demand with make, and a
 * check that the compiled worker exists (the runner forks dist/fuzz/ffi/worker.js).
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { workerScript } from '../child.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Absolute path of a built example target, e.g. `target('libvu_parser.so')`. */
export const target = (name: string): string => `${ROOT}native/build/targets/${name}`;

/** Builds the example targets (a no-op when up to date) and checks the worker is compiled. */
export function ensureTargets(): void {
  execFileSync('make', ['-s', '-C', `${ROOT}native/targets`], { stdio: ['ignore', 'ignore', 'inherit'] });
  workerScript(); // throws "run npm run build" when dist is missing
  for (const lib of ['libsafe.so', 'libvu_parser.so', 'libvu_parser_deep.so']) {
    if (!existsSync(target(lib))) throw new Error(`${target(lib)} was not built`);
  }
}
