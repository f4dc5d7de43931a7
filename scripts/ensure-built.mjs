// Builds native/ and the TypeScript when the outputs are missing or older than the sources, so
// `npm start`, `npm test` and `npm run bench` work straight after `npm ci`.
import { execSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const newest = (dir, exts) => {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
};
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);
const srcDirs = ['native', 'fakes', 'conformance', 'fuzz', 'reports', 'service', 'cli', 'bench'];
const tsNewest = Math.max(...srcDirs.map((d) => newest(join(root, d), ['.ts', '.c', '.h', 'Makefile'])));
if (mtime(join(root, 'dist/cli/main.js')) < tsNewest || !existsSync(join(root, 'native/build/libvhostlab.so'))) {
  process.stderr.write('vhostlab: building (native + TypeScript)…\n');
  execSync('npm run -s build', { cwd: root, stdio: 'inherit' });
}
