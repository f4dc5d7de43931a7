#!/usr/bin/env node
// Launcher. Blocking native calls (recvmsg/poll/accept with time-outs) run on libuv's thread pool,
// whose size is read once, at its first use; Node's ESM loader already uses the pool to read
// modules, so the size must be set here, in a CommonJS file, before anything is imported.
'use strict';
process.env.UV_THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE || '32';
import('../dist/cli/main.js').catch((err) => {
  process.stderr.write(`vhostlab: ${err && err.stack ? err.stack : err}\n`);
  process.exit(70);
});
