/**
 * The `--violations FILE` writer: one JSON line `{at, rule, detail, ring?}` per violation. The
 * file is created (emptied) when the log opens, so "no violation" is an empty file. Repeats of
 * the same rule, ring and detail are written once (a stuck avail index would otherwise report
 * itself on every poll), and the file stops growing after {@link MAX_VIOLATION_LINES} lines.
 * @module
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Violation } from '../session-state.js';

/** Most lines one log writes. */
export const MAX_VIOLATION_LINES = 10_000;

/** One line of the file. */
export interface ViolationRecord {
  /** ISO-8601 time. */
  readonly at: string;
  /** CHECKLIST requirement id. */
  readonly rule: string;
  /** What happened. */
  readonly detail: string;
  /** Ring index, when one is concerned. */
  readonly ring?: number;
}

/** Appends violations to a file as JSON lines. */
export class ViolationLog {
  private readonly fd: number;
  private readonly seen = new Set<string>();
  /** Lines written. */
  written = 0;
  /** Violations not written (repeats, or past the cap). */
  suppressed = 0;

  /** Creates or empties `path`. Throws the fs error when it cannot be opened. */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  /** Records `v` (synchronously, so a crash right after still leaves it in the file). */
  write(v: Violation): void {
    const key = `${v.rule}\u0000${v.ring ?? ''}\u0000${v.detail}`;
    if (this.seen.has(key) || this.written >= MAX_VIOLATION_LINES) {
      this.suppressed++;
      return;
    }
    this.seen.add(key);
    const rec: ViolationRecord = { at: new Date().toISOString(), rule: v.rule, detail: v.detail, ...(v.ring === undefined ? {} : { ring: v.ring }) };
    writeSync(this.fd, `${JSON.stringify(rec)}\n`);
    this.written++;
  }

  /** Closes the file. */
  close(): void {
    closeSync(this.fd);
  }
}
