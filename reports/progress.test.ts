import { describe, expect, it } from 'vitest';
import { createProgress, formatElapsed, type ProgressStream } from './progress.js';

function fakeStream(isTTY: boolean, columns = 200): ProgressStream & { out: string } {
  const s = { out: '', isTTY, columns, write(chunk: string) { s.out += chunk; return true; } };
  return s;
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

describe('createProgress on a TTY', () => {
  it('redraws one line in place with counts, rate, elapsed and time left', () => {
    const s = fakeStream(true);
    const c = clock();
    const p = createProgress(s, { label: 'conformance', total: 10, unit: 'cases', now: c.now, color: false });
    c.advance(2000);
    p.update({ current: 'backend/reply-ack/nack', pass: 3, fail: 1 });
    expect(s.out).toBe('\r\x1b[2Kconformance | 4/10 | pass 3 fail 1 skip 0 | 2.0 cases/s | 2.0s, ~3.0s left | backend/reply-ack/nack');
    expect(s.out).not.toContain('\n');
  });

  it('throttles redraws, prints logs above the line and ends with a newline', () => {
    const s = fakeStream(true);
    const c = clock();
    const p = createProgress(s, { label: 'fuzz', unit: 'runs', now: c.now, color: false, redrawMs: 100 });
    p.update({ done: 1 });
    p.update({ done: 2 }); // same instant: no redraw
    expect(s.out.split('\r\x1b[2K')).toHaveLength(2);
    c.advance(150);
    p.update({ done: 3, current: 'seed 42' });
    expect(s.out.split('\r\x1b[2K')).toHaveLength(3);
    s.out = '';
    p.log('found a crash');
    expect(s.out).toMatch(/^\r\x1b\[2Kfound a crash\n\r\x1b\[2Kfuzz \| 3 runs \| [\d.]+ runs\/s/);
    s.out = '';
    p.done('fuzz: 3 runs, 1 finding');
    expect(s.out).toBe('\r\x1b[2Kfuzz: 3 runs, 1 finding\n');
    p.update({ done: 4 });
    p.done();
    expect(s.out).toBe('\r\x1b[2Kfuzz: 3 runs, 1 finding\n');
  });

  it('cuts the line to the terminal width without breaking colour codes', () => {
    const s = fakeStream(true, 40);
    const p = createProgress(s, { label: 'conformance', total: 100, now: clock().now, color: true });
    p.update({ current: 'backend/a/very/long/case/name/that/goes/on', fail: 2 });
    const line = s.out.slice('\r\x1b[2K'.length);
    const visible = line.replace(/\x1b\[[0-9;]*m/g, '');
    expect(visible.length).toBe(39);
    expect(visible.endsWith('…')).toBe(true);
    expect(line).toContain('\x1b[31mfail 2\x1b[0m');
    expect(line.endsWith('\x1b[0m')).toBe(true);
  });
});

describe('createProgress on a pipe or file', () => {
  it('writes one plain line per new item, no escape codes, then at most one per interval', () => {
    const s = fakeStream(false);
    const c = clock();
    const p = createProgress(s, { label: 'conformance', total: 3, unit: 'cases', now: c.now, plainEveryMs: 10_000 });
    c.advance(1000);
    p.update({ current: 'a' });
    p.update({ pass: 1 }); // same item, too soon: nothing
    c.advance(1000);
    p.update({ current: 'b', pass: 1 });
    c.advance(20_000);
    p.update({ pass: 2 }); // same item, interval passed: a line
    p.log('note: peer restarted');
    p.done();
    expect(s.out).not.toContain('\x1b');
    expect(s.out.split('\n')).toEqual([
      'conformance | 0/3 | pass 0 fail 0 skip 0 | 0.0 cases/s | 1.0s | a',
      'conformance | 1/3 | pass 1 fail 0 skip 0 | 0.5 cases/s | 2.0s, ~4.0s left | b',
      'conformance | 2/3 | pass 2 fail 0 skip 0 | 0.1 cases/s | 22.0s, ~11.0s left | b',
      'note: peer restarted',
      'conformance | 2/3 | pass 2 fail 0 skip 0 | 0.1 cases/s | 22.0s, ~11.0s left',
      '',
    ]);
  });
});

describe('formatElapsed', () => {
  it('reads well at every scale', () => {
    expect([formatElapsed(1234), formatElapsed(185_000), formatElapsed(3_725_000)]).toEqual(['1.2s', '3m05s', '1h02m']);
  });
});
