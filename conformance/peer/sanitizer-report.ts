/**
 * Reads a sanitizer report out of a process's stderr: the tool and error kind of the
 * `==PID==ERROR: AddressSanitizer: heap-buffer-overflow on address …` line and the first stack
 * frame in the program's own code. Sanitizers end the process with exit code 1, not a signal, so
 * without this a sanitizer-built back-end's memory error looks like a plain exit (and, for a
 * one-session peer, like the normal end of its session).
 * @module
 */

/** What a report says, in short. */
export interface SanitizerReport {
  /** `AddressSanitizer`, `MemorySanitizer`, … */
  readonly tool: string;
  /** `heap-buffer-overflow`, `SEGV`, `heap-use-after-free`, … (`memory-leak` for LeakSanitizer). */
  readonly kind: string;
  /** `function file:line` of the first frame outside the sanitizer runtime, when the report has frames. */
  readonly frame?: string;
}

// "==123==ERROR: AddressSanitizer: stack-buffer-overflow on address …"
const ERROR_LINE = /ERROR: (\w+Sanitizer): ([\w-]+)/;
// "    #0 0x55d5c3 in vu_handle_msg /src/peer.c:42:7"
const FRAME_LINE = /^\s*#\d+ 0x[0-9a-f]+ in (\S+) (\S+)/gm;

/** The first report in `text`, or undefined when there is none. */
export function findSanitizerReport(text: string): SanitizerReport | undefined {
  const m = ERROR_LINE.exec(text);
  if (m === null) return undefined;
  // "ERROR: LeakSanitizer: detected memory leaks", printed at a normal exit.
  if (m[1] === 'LeakSanitizer') return { tool: m[1], kind: 'memory-leak' };
  const after = text.slice(m.index);
  for (const f of after.matchAll(FRAME_LINE)) {
    // Interceptors and runtime frames (__interceptor_memcpy, __asan_memcpy) say nothing about the bug.
    if (f[1].startsWith('__')) continue;
    return { tool: m[1], kind: m[2], frame: `${f[1]} ${f[2]}` };
  }
  return { tool: m[1], kind: m[2] };
}

/** `AddressSanitizer heap-buffer-overflow in fn file.c:12:3`. */
export const describeSanitizerReport = (r: SanitizerReport): string =>
  `${r.tool} ${r.kind}${r.frame !== undefined ? ` in ${r.frame}` : ''}`;
