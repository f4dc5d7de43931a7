import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerDisconnectedError } from '../../fakes/wire/errors.js';
import { FrontendRequest, HeaderFlag } from '../../fakes/wire/index.js';
import { ensureTargets, target } from '../ffi/__test-helpers__/targets.js';
import { ProcessPeer } from './process-peer.js';
import { findSanitizerReport } from '../../conformance/peer/sanitizer-report.js';

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

describe('ProcessPeer with an AddressSanitizer-built peer', () => {
  beforeAll(ensureTargets, 60_000);

  it('reports the sanitizer verdict as a crash, even from a one-session peer whose exits are otherwise normal', async () => {
    const peer = new ProcessPeer({ name: 'asan-peer', command: `${target('asan-peer')} {socket}`, mode: 'server', deviceType: 'net', loopingNet: false, restartPerSession: true });
    await peer.start();
    try {
      const conn = await peer.connect(2000);
      // SET_VRING_ADDR with its 40-byte body: the peer copies it into an 8-byte heap buffer.
      conn.send({ request: FrontendRequest.SET_VRING_ADDR, flags: HeaderFlag.VERSION, size: 40, body: new Uint8Array(40), fds: [] });
      for (let i = 0; i < 250 && peer.alive(); i++) await new Promise((r) => setTimeout(r, 20));
      conn.close();
      expect(peer.alive()).toBe(false);
      // Not restarted over the report: the next connection is refused with the verdict …
      await expect(peer.connect(2000)).rejects.toThrow(/AddressSanitizer heap-buffer-overflow in keep_payload .*asan_peer\.c:\d+/);
      // … and the crash oracle names it.
      expect(peer.takeCrash()).toMatch(/exited with code 1: AddressSanitizer heap-buffer-overflow in keep_payload .*asan_peer\.c:\d+/);
    } finally {
      await peer.stop();
    }
  }, 30_000);
});

describe('findSanitizerReport', () => {
  it('skips runtime frames to the first frame of the program, and finds nothing in a clean log', () => {
    const log = [
      'started',
      '==7==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x1 bp 0x2 sp 0x3',
      'READ of size 4 at 0x602000000010 thread T0',
      '    #0 0x4a1b2c in __asan_memcpy (/x/peer+0x4a1b2c)',
      '    #1 0x4c3d4e in vq_pop /src/virtqueue.c:210:9',
      '    #2 0x4c3e00 in main /src/main.c:12:3',
    ].join('\n');
    expect(findSanitizerReport(log)).toEqual({ tool: 'AddressSanitizer', kind: 'heap-use-after-free', frame: 'vq_pop /src/virtqueue.c:210:9' });
    expect(findSanitizerReport('started\nclosed\n')).toBeUndefined();
    expect(findSanitizerReport('==9==ERROR: LeakSanitizer: detected memory leaks\n')).toEqual({ tool: 'LeakSanitizer', kind: 'memory-leak' });
  });
});
