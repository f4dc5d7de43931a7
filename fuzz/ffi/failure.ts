/**
 * Turns how a worker ended (exit code, signal, stderr, time-out) into a {@link ReproFailure} and a
 * short signature. Shrinking keeps a candidate only when its signature equals the original's, so a
 * deep bug is never "shrunk" into a different, shallower one (libFuzzer's minimiser makes the
 * same distinction by crash type).
 * @module
 */
import { findSanitizerReport } from '../../conformance/peer/sanitizer-report.js';
import type { ReproFailure } from '../replay/repro.js';

/** How much of the worker's stderr a failure keeps (the sanitizer report is at the end). */
export const STDERR_KEEP = 8 * 1024;

/** What the parent saw when a worker ended or stopped answering. */
export interface WorkerEnd {
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** Signal name, or null. */
  readonly signal: NodeJS.Signals | null;
  /** Tail of stderr. */
  readonly stderr: string;
  /** True when the parent killed it for not answering in time. */
  readonly timedOut: boolean;
}

/** A classified failure plus its signature. */
export interface ClassifiedFailure {
  readonly failure: ReproFailure;
  /** Stable short form, e.g. `crash:AddressSanitizer:SEGV:vring_start`, `crash:SIGSEGV`, `hang`. */
  readonly signature: string;
}

/** Classifies a worker end. */
export function classifyEnd(end: WorkerEnd): ClassifiedFailure {
  const stderr = end.stderr.slice(-STDERR_KEEP).trim();
  const withStderr = stderr === '' ? {} : { stderr };
  if (end.timedOut) {
    return { failure: { kind: 'hang', summary: 'no answer within the time-out', ...withStderr }, signature: 'hang' };
  }
  const san = findSanitizerReport(stderr);
  const exit = end.code !== null ? { exitCode: end.code } : {};
  const signal = end.signal !== null ? { signal: end.signal } : {};
  if (san) {
    // The function of the first frame in the target tells two bugs of one kind apart (a SEGV in
    // vring_start is not a SEGV in set_mem_table); its file and line stay out, as paths differ
    // between checkouts and lines between builds.
    const fn = san.frame?.split(' ')[0];
    const where = fn !== undefined ? ` in ${fn}` : '';
    const summary = `${san.tool}: ${san.kind}${where}`;
    return {
      failure: { kind: 'crash', summary, ...signal, ...exit, ...withStderr },
      signature: `crash:${san.tool}:${san.kind}${fn !== undefined ? `:${fn}` : ''}`,
    };
  }
  if (end.signal !== null) {
    return { failure: { kind: 'crash', summary: `signal ${end.signal}`, signal: end.signal, ...withStderr }, signature: `crash:${end.signal}` };
  }
  return {
    failure: { kind: 'exit', summary: `target exited with code ${end.code ?? '?'}`, ...exit, ...withStderr },
    signature: `exit:${end.code ?? '?'}`,
  };
}
