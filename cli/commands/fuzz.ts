/**
 * `vhostlab fuzz`: the fuzzer group. One file per sub-command under `fuzz/` (`ffi`,
 * `protocol`, `reconnect`, `memory`, `datapath`), plus `--replay FILE` on the group,
 * which replays any reproducer by its kind.
 * @module
 */
import type { Command } from 'commander';
import { registerFfi } from './fuzz/ffi.js';
import { registerProtocol } from './fuzz/protocol.js';
import { registerReconnect } from './fuzz/reconnect.js';
import { registerMemory } from './fuzz/memory.js';
import { registerDatapath } from './fuzz/datapath.js';
import { processIo, type FuzzIo } from './fuzz/io.js';
import { runReplay, type ReplayCliOptions } from './fuzz/replay.js';
import { UsageError } from '../exit.js';

/** Sub-command registrars of the group; add a line per fuzzer. */
const SUBCOMMANDS: ((fuzz: Command, io: FuzzIo) => void)[] = [registerFfi, registerProtocol, registerReconnect, registerMemory, registerDatapath];

/** Registers `fuzz` writing through `io`. */
export function registerFuzz(program: Command, io: FuzzIo): Command {
  // The group's --target/--asan/--json (for --replay) share names with sub-command options: the
  // group must stop parsing at its sub-command, and commander wants the program to do the same
  // (it has no options of its own but -h/-V; report.ts does this too).
  program.enablePositionalOptions();
  const fuzz = program
    .command('fuzz')
    .description('fuzz back-ends, front-ends and native targets; replay reproducers')
    .enablePositionalOptions()
    .option('--replay <file>', 'replay a reproducer written by any fuzzer')
    .option('--target <lib.so>', 'with --replay (ffi): run this library instead of the recorded one')
    .option('--asan', 'with --replay (ffi): the library is ASan-built (default: detected)')
    .option('--json', 'with --replay: print one JSON document on stdout')
    .option('--profile <p>', 'with --replay (protocol, reconnect, memory, datapath): replay on this peer profile instead of the recorded peer')
    .option('--backend <cmd>', "with --replay (protocol, reconnect, memory, datapath): replay on this back-end command ({socket}) instead of the recorded one")
    .option('--mode <m>', 'with --replay --backend: server (the back-end listens) or client (it connects)')
    .option('--type <t>', 'with --replay --backend: device type', 'net')
    .addHelpText('after', `
Replay exit codes: 1 the failure still happens, 0 it no longer does, 2 unreadable file or
unsupported kind, 3 the target cannot be loaded.
A live reproducer (protocol, reconnect, memory, datapath) replays on the peer it records; --profile or
--backend CMD --mode M replays it on another one (a fixed build, or a file found against the
in-process fake back-ends of the test suite, which records none).`)
    .action(async (o: Partial<ReplayCliOptions>) => {
      if (o.replay === undefined) throw new UsageError('fuzz: name a fuzzer (ffi, …) or give --replay FILE');
      await runReplay(o as ReplayCliOptions, io);
    });
  for (const register of SUBCOMMANDS) register(fuzz, io);
  return fuzz;
}

/** Registers `fuzz` on the real process. */
export function register(program: Command): void {
  registerFuzz(program, processIo);
}
