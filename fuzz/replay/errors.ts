/**
 * Errors of the reproducer format. A reproducer is read back by people and CI months later, so a
 * damaged or foreign file must fail with a message that names the file and the broken field.
 * @module
 */
import { VhostUserError } from '../../fakes/wire/errors.js';

/** Stable codes of reproducer errors. */
export const ReproErrorCode = {
  /** The file is not JSON, not a reproducer, or a field is missing or mistyped. */
  FORMAT: 'VHU_ERR_REPRO_FORMAT',
  /** The reproducer is fine but its `kind` has no replayer yet. */
  UNSUPPORTED_KIND: 'VHU_ERR_REPRO_UNSUPPORTED_KIND',
} as const;

/** A reproducer file cannot be read: `file` is the path, `reason` what is wrong with it. */
export class ReproFormatError extends VhostUserError {
  override readonly name = 'ReproFormatError';
  /** Path of the offending file. */
  readonly file: string;
  /** What is wrong, e.g. `input.base64 must be a string`. */
  readonly reason: string;

  /** @param file - the path; @param reason - what is wrong; @param cause - the parse error, if any. */
  constructor(file: string, reason: string, cause?: unknown) {
    super(ReproErrorCode.FORMAT, `${file}: not a valid vhostlab reproducer: ${reason}`, { cause });
    this.file = file;
    this.reason = reason;
  }
}

/** True when `e` is a {@link ReproFormatError}. */
export const isReproFormatError = (e: unknown): e is ReproFormatError => e instanceof ReproFormatError;
