/**
 * The socket options shared by `probe` and `traffic`: connect to a listening back-end
 * (`--socket S`), or listen on S and wait for a back-end in client mode (`--socket S --listen`).
 * @module
 */
import type { Command } from 'commander';
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { FrontendSession } from '../fakes/frontend/index.js';
import { Listener } from '../fakes/transport/index.js';
import { ExitCode, UsageError } from './exit.js';

/** Parsed socket options. */
export interface SessionCliOptions {
  socket: string;
  listen?: boolean;
  timeout: number;
}

/** Adds `--socket`, `--listen` and `--timeout` to a command. */
export function addSessionOptions(cmd: Command): Command {
  return cmd
    .requiredOption('-s, --socket <path>', 'vhost-user unix socket path')
    .option('-l, --listen', 'listen on the socket and wait for a back-end in client mode to connect')
    .option('--timeout <ms>', 'time-out for connecting and for every reply', parsePositiveInt, 30_000);
}

/** Parses a whole number ≥ 1 for commander, with a clear message. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`expected a whole number ≥ 1, got '${value}'`);
  return n;
}

/** An error that carries the exit code main() should use. */
export class PeerUnreachableError extends Error {
  readonly exitCode = ExitCode.PEER_UNREACHABLE;
}

/**
 * Opens a front-end session as the options say and runs `body` with it; closes everything after,
 * including the listening socket file vhostlab created.
 */
export async function withSession<T>(o: SessionCliOptions, body: (s: FrontendSession) => Promise<T>): Promise<T> {
  let session: FrontendSession;
  let listener: Listener | undefined;
  try {
    if (o.listen) {
      removeStaleSocket(o.socket);
      listener = Listener.listen(o.socket);
      process.stderr.write(`vhostlab: listening on ${o.socket}, waiting up to ${o.timeout} ms for a back-end\n`);
      session = await FrontendSession.accept(listener, { acceptTimeoutMs: o.timeout, replyTimeoutMs: o.timeout });
    } else {
      session = await FrontendSession.connect(o.socket, { connectTimeoutMs: o.timeout, replyTimeoutMs: o.timeout });
    }
  } catch (err) {
    closeListener(listener, o.socket);
    if (err instanceof UsageError) throw err;
    throw new PeerUnreachableError(`cannot reach a back-end on ${o.socket}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return await body(session);
  } finally {
    session.close();
    closeListener(listener, o.socket);
  }
}

function closeListener(listener: Listener | undefined, path: string): void {
  if (!listener) return;
  listener.close();
  try { unlinkSync(path); } catch { /* already gone */ }
}

/** Removes a leftover socket file (a previous listener's) so listening can start; refuses other files. */
function removeStaleSocket(path: string): void {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new UsageError(`${path} exists and is not a socket; refusing to replace it`);
  unlinkSync(path);
}
