/**
 * PeerTarget's crash verdict for one-session peers (profiles with restartPerCase), against real
 * processes: an exit with a status or by SIGPIPE after its connection ended is how such a peer
 * closes, not a crash; a death by another signal still is; a peer that may serve many sessions
 * is blamed for any death it was not killed into.
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adHocProfile } from '../profiles/load-profile.js';
import { PeerTarget } from './peer-target.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// A peer that listens on its socket, takes one connection, then ends as told: `exit N` or `kill
// -SIG $$` (sh keeps the default dispositions, so the signal is what the runner sees).
function peerScript(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vl-pt-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'peer.sh');
  writeFileSync(path, [
    '#!/bin/sh',
    `"${process.execPath}" -e 'const s = require("net").createServer((c) => { c.destroy(); s.close(); }).listen(process.argv[1])' "$1"`,
    'case "$2" in exit*) exit "${2#exit}";; *) kill -"$2" $$;; esac',
    '',
  ].join('\n'));
  return path;
}

async function endOnce(how: string, restartPerCase: boolean): Promise<string | undefined> {
  const profile = { ...adHocProfile(`sh ${peerScript()} {socket} ${how}`, 'server', 'net'), restartPerCase };
  const target = new PeerTarget(profile);
  cleanups.push(() => target.stop());
  await target.start();
  await new Promise<void>((resolve, reject) => {
    const c = connect(target.socket, () => c.end());
    c.on('close', () => resolve());
    c.on('error', reject);
  });
  await target.awaitExit(5_000);
  expect(target.alive()).toBe(false);
  return target.takeCrash();
}

describe('PeerTarget.takeCrash', () => {
  it('a one-session peer that exits with a status is not a crash', async () => {
    expect(await endOnce('exit1', true)).toBeUndefined();
  });

  it('a one-session peer killed by SIGPIPE after its connection closed is not a crash', async () => {
    expect(await endOnce('PIPE', true)).toBeUndefined();
  });

  it('a one-session peer killed by SIGSEGV is a crash', async () => {
    expect(await endOnce('SEGV', true)).toMatch(/SIGSEGV/);
  });

  it('a many-session peer that dies by SIGPIPE is a crash', async () => {
    expect(await endOnce('PIPE', false)).toMatch(/SIGPIPE/);
  });
});
