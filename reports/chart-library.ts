/**
 * Finds Chart.js's browser (UMD) build in node_modules, so the HTML report can inline it and
 * open with no network. Read once per process.
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

let cached: string | undefined;

/**
 * The source of `chart.js/dist/chart.umd.min.js`. The package's export map hides `dist/`, so the
 * file is found next to the entry point `require.resolve` does give.
 */
export function chartLibrarySource(): string {
  if (cached === undefined) {
    const entry = createRequire(import.meta.url).resolve('chart.js');
    cached = readFileSync(join(dirname(entry), 'chart.umd.min.js'), 'utf8');
  }
  return cached;
}
