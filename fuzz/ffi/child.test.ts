import { beforeAll, describe, expect, it } from 'vitest';
import { ensureTargets, target } from './__test-helpers__/targets.js';
import { TargetChild } from './child.js';
import { classifyEnd } from './failure.js';

beforeAll(ensureTargets, 60_000);

// SET_MEM_TABLE (5), flags 1, size 0: the shallow planted bug of vu_parser.
const SHALLOW = Uint8Array.of(5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0);

describe('TargetChild', () => {
  it('runs batches, and a crash kills the worker, not the fuzzer', async () => {
    const child = await TargetChild.start({ target: target('libvu_parser.so') });
    expect(await child.submit([new Uint8Array(0), Uint8Array.of(1, 2, 3)], 5_000)).toEqual({ status: 'ok' });
    // Pipelined: the second batch is lost because the first one kills the worker.
    const [first, second] = await Promise.all([child.submit([Uint8Array.of(0), SHALLOW], 5_000), child.submit([Uint8Array.of(0)], 5_000)]);
    expect(first.status).toBe('failed');
    expect(second.status).toBe('lost');
    expect(child.alive).toBe(false);
    expect(classifyEnd((first as { end: Parameters<typeof classifyEnd>[0] }).end)).toMatchObject({ signature: 'crash:SIGSEGV', failure: { kind: 'crash', signal: 'SIGSEGV' } });
    // This process is fine and a new worker runs.
    const again = await TargetChild.start({ target: target('libvu_parser.so') });
    expect(await again.submit([Uint8Array.of(1)], 5_000)).toEqual({ status: 'ok' });
    await again.close();
  });

  it('fuzzes a range by itself, and after a crash names the input that was running', async () => {
    const { inputAt, inputSpace } = await import('./inputs.js');
    const space = inputSpace('bytes');
    const safe = await TargetChild.start({ target: target('libsafe.so') });
    expect(await safe.fuzz({ seed: 4, params: space.params, start: 10, count: 5_000, timeMs: 0 }, 5_000)).toEqual({ status: 'done', next: 5_010 });
    await safe.close();
    const child = await TargetChild.start({ target: target('libvu_parser.so') });
    const v = await child.fuzz({ seed: 3, params: space.params, start: 0, count: 1_000_000, timeMs: 0 }, 5_000);
    expect(v.status).toBe('failed');
    const index = (v as { index: number }).index;
    // The culprit, regenerated from (seed, index), crashes a fresh worker alone; the input before it does not.
    const again = await TargetChild.start({ target: target('libvu_parser.so') });
    expect(await again.submit([inputAt(space, 3, index - 1)], 5_000)).toEqual({ status: 'ok' });
    expect((await again.submit([inputAt(space, 3, index)], 5_000)).status).toBe('failed');
    await again.close();
  });

  it('classifies an ASan report by its bug type', () => {
    const stderr = '==1==ERROR: AddressSanitizer: stack-buffer-overflow on address 0x7ff\nSUMMARY: …';
    expect(classifyEnd({ code: 1, signal: null, stderr, timedOut: false })).toMatchObject({
      signature: 'crash:AddressSanitizer:stack-buffer-overflow',
      failure: { kind: 'crash', summary: 'AddressSanitizer: stack-buffer-overflow', exitCode: 1 },
    });
    // The first frame's function joins the class; its path and line do not.
    const framed = `${stderr}\n    #0 0x55d5c3 in __asan_memcpy asan.cpp:1\n    #1 0x55d5c4 in vring_start /src/t.c:138:11\n`;
    expect(classifyEnd({ code: 1, signal: null, stderr: framed, timedOut: false })).toMatchObject({
      signature: 'crash:AddressSanitizer:stack-buffer-overflow:vring_start',
      failure: { summary: 'AddressSanitizer: stack-buffer-overflow in vring_start' },
    });
    expect(classifyEnd({ code: null, signal: 'SIGKILL', stderr: '', timedOut: true }).signature).toBe('hang');
    expect(classifyEnd({ code: 0, signal: null, stderr: '', timedOut: false }).failure.kind).toBe('exit');
  });

  it('runs an ASan-built target with the runtime preloaded and reads its report', async () => {
    const { childOptionsFor } = await import('./runner.js');
    const opts = childOptionsFor({ target: target('libvu_parser-asan.so') });
    expect(opts.asanRuntime).toMatch(/asan/);
    const child = await TargetChild.start(opts);
    const v = await child.submit([SHALLOW], 10_000);
    expect(v.status).toBe('failed');
    expect(classifyEnd((v as { end: Parameters<typeof classifyEnd>[0] }).end).failure.summary).toMatch(/^AddressSanitizer: stack-buffer-overflow in \w+$/);
  });
});
