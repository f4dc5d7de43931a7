/**
 * AddressSanitizer support. An ASan-built shared library needs the ASan runtime loaded before
 * anything else in the process (DESIGN.md: "An AddressSanitizer-built shared library loads into
 * Node only when the ASan runtime comes first"), so the worker is started with `LD_PRELOAD` of the
 * runtime and `ASAN_OPTIONS=detect_leaks=0` (Node itself "leaks" by ASan's standards).
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { VhostUserError } from '../../fakes/wire/errors.js';

/** The ASan runtime cannot be found. */
export class AsanRuntimeError extends VhostUserError {
  override readonly name = 'AsanRuntimeError';
  constructor(message: string) {
    super('VHU_ERR_ASAN_RUNTIME', message);
  }
}

/**
 * True when `libPath` was built with ASan: its dynamic symbols reference `__asan_init` (clang
 * leaves the runtime out of shared libraries) or it depends on gcc's `libasan.so`. A byte search
 * of the file finds both without an ELF parser.
 */
export function isAsanLibrary(libPath: string): boolean {
  const bytes = readFileSync(libPath);
  return bytes.includes('__asan_init') || bytes.includes('libasan.so');
}

/**
 * Path of the ASan runtime to preload: `explicit` if given, else clang's
 * `libclang_rt.asan-x86_64.so` (asked from `clang-14 -print-file-name`, then looked up under
 * /usr/lib/llvm-*), else gcc's libasan. Throws {@link AsanRuntimeError} when none is found.
 */
export function findAsanRuntime(libPath: string, explicit?: string): string {
  if (explicit !== undefined) {
    if (!existsSync(explicit)) throw new AsanRuntimeError(`ASan runtime ${explicit} does not exist`);
    return explicit;
  }
  const gccStyle = readFileSync(libPath).includes('libasan.so');
  const candidates: string[] = [];
  for (const [cc, name] of gccStyle
    ? [['gcc', 'libasan.so']]
    : [['clang-14', 'libclang_rt.asan-x86_64.so'], ['clang', 'libclang_rt.asan-x86_64.so']]) {
    try {
      candidates.push(execFileSync(cc!, [`-print-file-name=${name!}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    } catch {
      // That compiler is not installed; try the next way.
    }
  }
  if (!gccStyle) {
    try {
      for (const llvm of readdirSync('/usr/lib').filter((d) => d.startsWith('llvm-')).sort().reverse()) {
        const base = join('/usr/lib', llvm, 'lib/clang');
        for (const v of existsSync(base) ? readdirSync(base) : []) candidates.push(join(base, v, 'lib/linux/libclang_rt.asan-x86_64.so'));
      }
    } catch {
      // No /usr/lib listing; nothing more to try.
    }
  }
  // `-print-file-name` echoes the bare name back when it does not know the file.
  const found = candidates.find((c) => c.startsWith('/') && existsSync(c));
  if (found === undefined) {
    throw new AsanRuntimeError(`cannot find the AddressSanitizer runtime for ${libPath}; install clang-14 or pass its path`);
  }
  return found;
}

/** Environment additions for a worker that loads an ASan target. */
export function asanEnv(runtime: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const preload = base.LD_PRELOAD ? `${runtime}:${base.LD_PRELOAD}` : runtime;
  // detect_leaks=0: Node's own allocations would be reported at exit. allow_user_segv_handler=0:
  // V8 installs its own SIGSEGV handler after ASan's, so without it a wild access in the target
  // ends the worker with a bare SIGSEGV and no report (no kind, no frame to tell bugs apart). The
  // rest keep the default exit code (1) and make the report land on stderr, where failure.ts looks.
  const options = ['detect_leaks=0', 'allocator_may_return_null=1', 'allow_user_segv_handler=0', base.ASAN_OPTIONS].filter(Boolean).join(':');
  return { ...base, LD_PRELOAD: preload, ASAN_OPTIONS: options };
}
