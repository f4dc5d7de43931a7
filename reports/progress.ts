/**
 * Terminal progress for long runs (conformance, fuzzing, benchmarks). On a TTY it keeps one live
 * status line, redrawn in place (`\r` + erase-line) at most every `redrawMs`: label, current case
 * or phase, done/total, pass/fail/skip counts, rate, elapsed and time left. Anything logged
 * meanwhile is printed above the line. When the stream is not a TTY (CI logs, files) it writes
 * plain lines instead: one when the current item changes, and otherwise at most one every
 * `plainEveryMs`, so a log stays readable and bounded.
 *
 * The clock is injectable and the module reads no environment, so both modes are unit-tested
 * with a fake stream. Write progress to stderr: with `--json`, stdout carries only the document.
 * @module
 */

/** What the progress display writes to: `process.stderr` or a fake with the same shape. */
export type ProgressStream = {
  write(chunk: string): unknown;
  /** True on a terminal; the display is live only then. */
  isTTY?: boolean;
  /** Terminal width; the live line is cut to it. */
  columns?: number;
};

/** Options of {@link createProgress}. */
export type ProgressOptions = {
  /** What is running, e.g. `conformance`, `fuzz reconnect`, `bench`. */
  label: string;
  /** Expected number of items, when known; enables `n/total` and the time left. */
  total?: number;
  /** What one item is called in the rate, e.g. `cases`, `runs`, `packets` (default `items`). */
  unit?: string;
  /** Milliseconds clock (default `performance.now`). */
  now?: () => number;
  /** Minimum time between two redraws of the live line (default 100 ms). */
  redrawMs?: number;
  /** Minimum time between two plain lines for the same item (default 10 s). */
  plainEveryMs?: number;
  /** Colour the counts; default: on a TTY. */
  color?: boolean;
};

/** A progress update; counts are totals so far, not increments. */
export type ProgressState = {
  /** The case, phase or target being worked on now. */
  current?: string;
  pass?: number;
  fail?: number;
  skip?: number;
  error?: number;
  waived?: number;
  /** Items finished; defaults to the sum of the counts. */
  done?: number;
};

/** The handle {@link createProgress} returns. */
export type Progress = {
  /** Records new state (merged into the previous one) and redraws when due. */
  update(state: ProgressState): void;
  /** Prints a line without breaking the live display. */
  log(line: string): void;
  /** Ends the display; prints `summary` or a final status line. Later calls do nothing. */
  done(summary?: string): void;
};

/** `1.2 s`, `3m05s`, `1h02m`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const ANSI = { red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', dim: '\x1b[2m', reset: '\x1b[0m' } as const;
const ERASE_LINE = '\r\x1b[2K';

/** Starts a progress display on `stream`. */
export function createProgress(stream: ProgressStream, options: ProgressOptions): Progress {
  const now = options.now ?? (() => performance.now());
  const tty = stream.isTTY === true;
  const color = options.color ?? tty;
  const redrawMs = options.redrawMs ?? 100;
  const plainEveryMs = options.plainEveryMs ?? 10_000;
  const unit = options.unit ?? 'items';
  const start = now();
  const state: Required<Omit<ProgressState, 'current' | 'done'>> & Pick<ProgressState, 'current' | 'done'> = {
    pass: 0, fail: 0, skip: 0, error: 0, waived: 0,
  };
  let lastDraw = -Infinity;
  let lastPlain = -Infinity;
  let lastPlainItem: string | undefined;
  let shown = false; // a live line is on screen and must be erased before other output
  let finished = false;

  const paint = (code: keyof typeof ANSI, s: string): string => (color ? `${ANSI[code]}${s}${ANSI.reset}` : s);
  const doneCount = (): number => state.done ?? state.pass + state.fail + state.skip + state.error + state.waived;

  function status(): string {
    const elapsed = now() - start;
    const n = doneCount();
    const parts = [options.label];
    parts.push(options.total !== undefined ? `${n}/${options.total}` : `${n} ${unit}`);
    // Verdict counts only where there are verdicts: a fuzzer reports plain `done` counts.
    const counted = state.pass + state.fail + state.skip + state.error + state.waived > 0 || state.done === undefined;
    if (counted) {
      const counts = [paint('green', `pass ${state.pass}`), paint(state.fail > 0 ? 'red' : 'dim', `fail ${state.fail}`)];
      if (state.error > 0) counts.push(paint('red', `error ${state.error}`));
      counts.push(`skip ${state.skip}`);
      if (state.waived > 0) counts.push(paint('yellow', `waived ${state.waived}`));
      parts.push(counts.join(' '));
    }
    const rate = elapsed > 0 ? (n * 1000) / elapsed : 0;
    parts.push(`${rate >= 10 ? Math.round(rate) : rate.toFixed(1)} ${unit}/s`);
    let time = formatElapsed(elapsed);
    if (options.total !== undefined && n > 0 && n < options.total) time += `, ~${formatElapsed(((options.total - n) * elapsed) / n)} left`;
    parts.push(time);
    return parts.join(' | ');
  }

  // Cut to the terminal width counting visible characters only, so colour codes never wrap.
  function fit(line: string): string {
    const width = (stream.columns ?? 80) - 1;
    let visible = 0;
    let out = '';
    for (let i = 0; i < line.length; i++) {
      if (line[i] === '\x1b') {
        const end = line.indexOf('m', i);
        out += line.slice(i, end + 1);
        i = end;
        continue;
      }
      if (visible === width - 1 && line.length - i > 1) return `${out}…${color ? ANSI.reset : ''}`;
      out += line[i];
      visible++;
    }
    return out;
  }

  function liveLine(): string {
    const s = status();
    return fit(state.current !== undefined ? `${s} | ${state.current}` : s);
  }

  function draw(force: boolean): void {
    const t = now();
    if (!force && t - lastDraw < redrawMs) return;
    lastDraw = t;
    stream.write(`${ERASE_LINE}${liveLine()}`);
    shown = true;
  }

  return {
    update(next) {
      if (finished) return;
      Object.assign(state, Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined)));
      if (tty) return draw(false);
      const t = now();
      const changed = next.current !== undefined && next.current !== lastPlainItem;
      if (!changed && t - lastPlain < plainEveryMs) return;
      lastPlain = t;
      lastPlainItem = state.current;
      stream.write(`${status()}${state.current !== undefined ? ` | ${state.current}` : ''}\n`);
    },
    log(line) {
      if (tty && shown) {
        stream.write(`${ERASE_LINE}${line}\n`);
        if (!finished) draw(true);
      } else {
        stream.write(`${line}\n`);
      }
    },
    done(summary) {
      if (finished) return;
      finished = true;
      const text = summary ?? status();
      stream.write(tty && shown ? `${ERASE_LINE}${text}\n` : `${text}\n`);
      shown = false;
    },
  };
}
