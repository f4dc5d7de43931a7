/**
 * Bounded waits for the data-plane cases (every wait has a time-out): polling a condition on
 * shared ring memory, sleeping through a quiet window, and counting call-fd signals.
 * @module
 */
import { eventfdRead, pollAsync, PollEvent } from '../../native/index.js';

/** Sleeps `ms` milliseconds (aborts early when `signal` fires). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) { resolve(); return; }
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Polls `pred` every 2 ms until it holds or `timeoutMs` passes; returns whether it held. The
 * back-end writes ring memory from another process, so polling is the only way to see it.
 */
export async function waitUntil(pred: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pred()) return true;
    if (Date.now() >= deadline || signal?.aborted) return pred();
    await sleep(2);
  }
}

/** Reads and resets an eventfd counter: the number of signals since the last read. */
export function takeSignals(fd: number): number {
  const v = eventfdRead(fd);
  return v === null ? 0 : Number(v);
}

/** Waits up to `timeoutMs` for `fd` to become readable; returns the signals then pending. */
export async function waitSignals(fd: number, timeoutMs: number): Promise<number> {
  await pollAsync([{ fd, events: PollEvent.IN }], timeoutMs);
  return takeSignals(fd);
}
