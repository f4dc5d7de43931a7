/**
 * Where the `fuzz` commands write: `process` in real use, a fake in tests.
 * @module
 */

/** Output and exit-code sink of the `fuzz` commands. */
export interface FuzzIo {
  stdout(text: string): void;
  stderr(text: string): void;
  setExitCode(code: number): void;
}

/** The real one. */
export const processIo: FuzzIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  setExitCode: (c) => void (process.exitCode = c),
};
