/**
 * Typed errors of `reports/`, each with a stable `code` and the offending data attached
 * (STYLE.md §36).
 * @module
 */

/** Base class of every `reports/` error. */
export class ReportError extends Error {
  override readonly name: string = 'ReportError';
  /** Stable machine-readable code, `VHL_REPORT_*`. */
  readonly code: string;

  /** @param code stable code; @param message human text; @param options standard `cause`. */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A result file that cannot be used: unreadable, not JSON, or not a `vhostlab.result/v1`
 * document. `problems` lists every reason found (several for an invalid document).
 */
export class ResultFileError extends ReportError {
  override readonly name = 'ResultFileError';
  /** The file (or source label) that was being loaded. */
  readonly file: string;
  /** What is wrong with it, one entry per problem. */
  readonly problems: readonly string[];

  /**
   * @param code `VHL_REPORT_UNREADABLE`, `VHL_REPORT_NOT_JSON` or `VHL_REPORT_INVALID`
   * @param file the file or source label
   * @param problems what is wrong, one entry per problem
   * @param options standard `cause`
   */
  constructor(
    code: 'VHL_REPORT_UNREADABLE' | 'VHL_REPORT_NOT_JSON' | 'VHL_REPORT_INVALID',
    file: string,
    problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(code, `${file}: ${problems.join('; ')}`, options);
    this.file = file;
    this.problems = problems;
  }
}

/** True when `err` is a {@link ResultFileError}. */
export function isResultFileError(err: unknown): err is ResultFileError {
  return err instanceof ResultFileError;
}
