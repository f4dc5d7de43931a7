/** Exit codes of every `vhostlab` command (DESIGN.md "Exit codes"). */
export const ExitCode = {
  /** Every case passed or was waived; a fuzz run found nothing. */
  OK: 0,
  /** Some case failed; a fuzz run found a failure. */
  FAILED: 1,
  /** Bad usage or a bad profile. */
  USAGE: 2,
  /** The peer could not be started or reached. */
  PEER_UNREACHABLE: 3,
} as const;

/** Thrown by a command for bad arguments or a bad profile; `main` maps it to exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
