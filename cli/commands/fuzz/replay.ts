/**
 * `vhostlab fuzz --replay FILE`: replays a reproducer, dispatching on its `kind`. Exit 1 when the
 * failure still happens, 0 when it no longer does, 2 for an unreadable file or a kind without a
 * replayer yet, 3 when the target cannot be loaded.
 * @module
 */
import { isFfiTargetLoadError, replayFfi, AsanRuntimeError } from '../../../fuzz/ffi/index.js';
import { isReproFormatError, readRepro, type Repro, type ReproKindValue } from '../../../fuzz/replay/index.js';
import { ExitCode, UsageError } from '../../exit.js';
import type { FuzzIo } from './io.js';
import { replayLive } from './live.js';
import { replayProtocolOn } from './protocol.js';
import { replayReconnectOn } from './reconnect.js';
import { replayMemoryOn } from './memory.js';
import { replayDatapathOn } from './datapath.js';

/** Options of the replay action (from the `fuzz` group). */
export interface ReplayCliOptions {
  replay: string;
  target?: string;
  asan?: boolean;
  json?: boolean;
  /** Live kinds: replay on this profile instead of the recorded peer. */
  profile?: string;
  /** Live kinds: replay on this back-end command instead of the recorded peer. */
  backend?: string;
  mode?: string;
  type?: string;
}

type Replayer = (repro: Repro, o: ReplayCliOptions, io: FuzzIo) => Promise<void>;

/** Replayers by kind; one per live fuzzer. */
const REPLAYERS: Partial<Record<ReproKindValue, Replayer>> = {
  ffi: replayFfiCommand,
  protocol: (repro, o, io) => replayLive(repro, io, o, replayProtocolOn),
  reconnect: (repro, o, io) => replayLive(repro, io, o, replayReconnectOn),
  memory: (repro, o, io) => replayLive(repro, io, o, replayMemoryOn),
  datapath: (repro, o, io) => replayLive(repro, io, o, replayDatapathOn),
};

/** Runs the replay. */
export async function runReplay(o: ReplayCliOptions, io: FuzzIo): Promise<void> {
  let repro: Repro;
  try {
    repro = readRepro(o.replay);
  } catch (err) {
    if (isReproFormatError(err)) throw new UsageError(`fuzz --replay: ${err.message}`);
    throw err;
  }
  const replayer = REPLAYERS[repro.kind];
  if (replayer === undefined) throw new UsageError(`fuzz --replay: replaying '${repro.kind}' reproducers is not supported yet`);
  await replayer(repro, o, io);
}

async function replayFfiCommand(repro: Repro, o: ReplayCliOptions, io: FuzzIo): Promise<void> {
  try {
    const r = await replayFfi(repro, { ...(o.target ? { target: o.target } : {}), ...(o.asan ? { asan: true } : {}) });
    if (o.json) {
      io.stdout(`${JSON.stringify({ file: o.replay, kind: repro.kind, ...r }, null, 2)}\n`);
    } else {
      const regen = r.regenerates === undefined ? '' : r.regenerates ? ' (seed + path regenerate the same input)' : ' (seed + path no longer regenerate this input; the bytes were replayed)';
      io.stdout(
        r.reproduced
          ? `fuzz --replay: reproduced on ${r.target}: ${r.failure!.summary}${r.sameFailure ? '' : ` (recorded: ${repro.failure.summary})`}${regen}\n`
          : `fuzz --replay: no failure on ${r.target} (recorded: ${repro.failure.summary})${regen}\n`,
      );
    }
    io.setExitCode(r.reproduced ? ExitCode.FAILED : ExitCode.OK);
  } catch (err) {
    if (isFfiTargetLoadError(err) || err instanceof AsanRuntimeError) {
      io.stderr(`vhostlab: fuzz --replay: ${err.message}\n`);
      io.setExitCode(ExitCode.PEER_UNREACHABLE);
      return;
    }
    throw err;
  }
}
