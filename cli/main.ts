/**
 * The `vhostlab` command: the one place that reads argv and env and sets exit codes. Wiring only:
 * each sub-command lives in `cli/commands/<name>.ts` and exports `register(program)`.
 *
 * Exit codes (DESIGN.md): 0 every case passed or was waived; 1 some case failed / a finding;
 * 2 bad usage or bad profile; 3 the peer could not be started or reached.
 * @module
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { commands } from './commands/index.js';
import { ExitCode, UsageError } from './exit.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('vhostlab')
  .description('Conformance suite and fuzzing toolkit for vhost-user back-ends and front-ends.')
  .version(pkg.version)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here with code 0; every other parse problem is bad usage.
    process.exitCode = err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
  } else if (err instanceof UsageError) {
    process.stderr.write(`vhostlab: ${err.message}\n`);
    process.exitCode = ExitCode.USAGE;
  } else {
    process.stderr.write(`vhostlab: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = (err as { exitCode?: number }).exitCode ?? ExitCode.PEER_UNREACHABLE;
  }
}
