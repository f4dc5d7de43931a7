/**
 * Connection.connect against real unix sockets: it retries a socket that is not there yet, and a
 * peer that listens but stopped accepting (its backlog full) costs the caller its own time-out,
 * as a TimeoutError, without freezing the event loop meanwhile.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, unixConnect, unixListen } from '../../native/index.js';
import { PeerDisconnectedError, TimeoutError } from '../wire/index.js';
import { Connection } from './connection.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function tempSocket(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vl-conn-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 's.sock');
}

describe('Connection.connect', () => {
  it('keeps trying until the peer listens', async () => {
    const path = tempSocket();
    const late = setTimeout(() => {
      const fd = unixListen(path);
      cleanups.push(() => closeFd(fd));
    }, 100);
    cleanups.push(() => clearTimeout(late));
    const c = await Connection.connect(path, 5_000);
    cleanups.push(() => c.close());
    expect(c.isBroken).toBe(false);
  });

  it('gives up on a missing socket at its deadline with a PeerDisconnectedError', async () => {
    const path = tempSocket();
    await expect(Connection.connect(path, 150)).rejects.toBeInstanceOf(PeerDisconnectedError);
  });

  it('a listener that stopped accepting costs the caller its own time-out, with the event loop running', async () => {
    const path = tempSocket();
    // Backlog 0: the first connection waits in the queue, the next connect blocks in the kernel.
    const listener = unixListen(path, 0);
    cleanups.push(() => closeFd(listener));
    const queued = unixConnect(path, 1_000);
    cleanups.push(() => closeFd(queued));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    cleanups.push(() => clearInterval(timer));
    const err = await Connection.connect(path, 300).then(
      (c) => {
        c.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).timeoutMs).toBe(300);
    expect((err as Error).message).toMatch(/did not accept/);
    // The wait happened on a pool thread: timers kept firing during it.
    expect(ticks).toBeGreaterThan(3);
  });
});
