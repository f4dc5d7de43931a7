/**
 * The shape of one fault of the reference back-end (`vhostlab backend --fault NAME`): a named
 * misbehaviour built only from the hook API ({@link BackendHooks}), with the CHECKLIST
 * requirements it breaks and the conformance cases expected to catch it. The suite runs against
 * each fault to prove that it notices the bug (it tests itself).
 * @module
 */
import type { BackendHooks } from '../hooks.js';

/** What a fault may do outside the session (injected so tests can observe a crash). */
export interface FaultEnv {
  /** Ends the process with `code` (default: `process.exit`). */
  exit(code: number): void;
}

/** One fault. */
export interface FaultDefinition {
  /** CLI name, kebab-case. */
  readonly name: string;
  /** What the back-end does wrong, one sentence. */
  readonly summary: string;
  /** CHECKLIST requirement ids the fault violates. */
  readonly violates: readonly string[];
  /**
   * Conformance case id prefixes that fail while the fault is on, and no others (checked by
   * `test/conformance-mutants.test.ts`). Empty when no case catches the fault yet; then
   * {@link FaultDefinition.uncaught} says why.
   */
  readonly caughtBy: readonly string[];
  /**
   * Case id prefixes that catch the fault only when a race goes their way (the fault's effect
   * lands inside their window or not): the self-test neither blames nor requires their failure.
   */
  readonly mayAlsoCatch?: readonly string[];
  /** Why no conformance case catches the fault yet (only with an empty `caughtBy`). */
  readonly uncaught?: string;
  /** The socket mode the fault needs (`client`: reconnect faults); default server mode. */
  readonly mode?: 'server' | 'client';
  /**
   * Case id prefixes the self-test runs instead of `caughtBy` plus its sample of other areas: for
   * faults that break every session (each affected case waits out a time-out, so a wide run is slow).
   */
  readonly selfTestOnly?: readonly string[];
  /** Fresh hooks (per back-end; per-session state is keyed by the SessionState inside). */
  create(env: FaultEnv): BackendHooks;
}

/** The default environment: a real exit. */
export const PROCESS_ENV: FaultEnv = { exit: (code) => process.exit(code) };
