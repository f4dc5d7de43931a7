/**
 * Per-case time-outs: the case gets an AbortSignal that fires at its limit, and the runner also
 * races the case against a hard timer, because a case stuck in a native wait may never look at
 * its signal. A case that hits the limit is a failure with "timed out" (a hung peer is a failed
 * case, never a hung suite).
 * @module
 */

/** What {@link runWithTimeLimit} produced. */
export type Limited<T> = { kind: 'done'; value: T } | { kind: 'threw'; error: unknown } | { kind: 'timedOut'; afterMs: number };

/** Runs `body` with a signal that aborts after `limitMs`; resolves at the latest `graceMs` after that. */
export async function runWithTimeLimit<T>(body: (signal: AbortSignal) => Promise<T>, limitMs: number, graceMs = 250): Promise<Limited<T>> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const hard = new Promise<Limited<T>>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`timed out after ${limitMs} ms`));
      // Give a well-behaved case a moment to notice the signal and finish on its own.
      timer = setTimeout(() => resolve({ kind: 'timedOut', afterMs: limitMs }), graceMs);
    }, limitMs);
  });
  const run = body(controller.signal).then(
    (value): Limited<T> => (controller.signal.aborted ? { kind: 'timedOut', afterMs: limitMs } : { kind: 'done', value }),
    (error: unknown): Limited<T> => (controller.signal.aborted ? { kind: 'timedOut', afterMs: limitMs } : { kind: 'threw', error }),
  );
  try {
    return await Promise.race([run, hard]);
  } finally {
    clearTimeout(timer);
  }
}
