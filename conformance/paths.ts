/**
 * Where the suite's data files live. Profiles, expectation lists and the requirement catalogue are
 * JSON next to the TypeScript sources; the compiled code runs from `dist/`, which holds no copies,
 * so paths are resolved from the package root found by walking up to vhostlab's package.json.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The package root (the folder of vhostlab's package.json). */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'vhostlab') {
      cached = dir;
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the vhostlab package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** A path inside the package's `conformance/` data folders. */
export function conformancePath(...parts: string[]): string {
  return join(packageRoot(), 'conformance', ...parts);
}
