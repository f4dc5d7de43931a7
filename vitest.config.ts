import { defineConfig } from 'vitest/config';

// Blocking native calls (recvmsg/poll/accept with a time-out) run on libuv's thread pool through
// koffi's async calls; an in-process front-end and back-end can hold several at once, so the
// default pool of 4 is too small. Forked test workers inherit this.
process.env.UV_THREADPOOL_SIZE ??= '32';

// Two projects: unit tests run in parallel; interop tests start real DPDK/QEMU peers that each
// busy-poll a core, so they run one file at a time in a single worker.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          setupFiles: ['./vitest.setup.ts'],
          include: ['{native,fakes,conformance,fuzz,reports,service,cli,bench}/**/*.test.ts', 'test/*.test.ts', 'test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'interop',
          setupFiles: ['./vitest.setup.ts'],
          include: ['test/interop/**/*.test.ts'],
          fileParallelism: false,
          maxWorkers: 1,
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
