import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PeerDisconnectedError } from '../../fakes/wire/errors.js';
import { ProcessPeer } from './process-peer.js';

// A peer that serves one connection and ends, as virtiofsd does: exit 0 after the connection
// closes, or (ending 'segv') die by SIGSEGV then.
const dir = mkdtempSync(join(tmpdir(), 'vhl-pp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const script = join(dir, 'one-session.mjs');
writeFileSync(script, `
import { createServer } from 'node:net';
const [socket, ending] = process.argv.slice(2);
const server = createServer((c) => {
  server.close();
  c.on('close', () => (ending === 'segv' ? process.kill(process.pid, 'SIGSEGV') : process.exit(0)));
  c.resume();
});
server.listen(socket);
`);

const peerOf = (ending: 'exit' | 'segv', restartPerSession: boolean) =>
  new ProcessPeer({ name: `one-session-${ending}`, command: `{node} ${script} {socket} ${ending}`, mode: 'server', deviceType: 'net', loopingNet: false, restartPerSession });

async function oneSession(peer: ProcessPeer): Promise<void> {
  const conn = await peer.connect(2000);
  conn.close();
  for (let i = 0; i < 100 && peer.alive(); i++) await new Promise((r) => setTimeout(r, 20));
}

describe('ProcessPeer with a one-session peer', () => {
  it('restartPerSession: an exit with status after the session is no crash, and the next connection gets a fresh process', async () => {
    const peer = peerOf('exit', true);
    await peer.start();
    try {
      await oneSession(peer);
      expect(peer.alive()).toBe(false);
      expect(peer.takeCrash()).toBeUndefined();
      await oneSession(peer);
      expect(peer.takeCrash()).toBeUndefined();
    } finally {
      await peer.stop();
    }
  }, 30_000);

  it('restartPerSession: a death by signal is a crash, and the peer is not silently restarted over it', async () => {
    const peer = peerOf('segv', true);
    await peer.start();
    try {
      await oneSession(peer);
      await expect(peer.connect(2000)).rejects.toBeInstanceOf(PeerDisconnectedError);
      expect(peer.takeCrash()).toMatch(/SIGSEGV/);
    } finally {
      await peer.stop();
    }
  }, 30_000);

  it('without restartPerSession an exit after the session is reported as the peer dying', async () => {
    const peer = peerOf('exit', false);
    await peer.start();
    try {
      await oneSession(peer);
      expect(peer.takeCrash()).toMatch(/exit/);
    } finally {
      await peer.stop();
    }
  }, 30_000);
});
