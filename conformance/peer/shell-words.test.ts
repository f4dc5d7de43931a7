import { describe, expect, it } from 'vitest';
import { parse, ShellWordsError } from './shell-words.js';
import { expandCommand } from './peer-process.js';

describe('shell word splitting', () => {
  it('splits like a POSIX shell for quotes and escapes', () => {
    expect(parse(`a  'b c' "d \\"e\\"" f\\ g`)).toEqual(['a', 'b c', 'd "e"', 'f g']);
    expect(parse(`--vdev 'net_vhost0,iface={socket},client=1' -- --x`)).toEqual(['--vdev', 'net_vhost0,iface={socket},client=1', '--', '--x']);
    expect(parse(`''`)).toEqual(['']);
    expect(parse('   ')).toEqual([]);
  });
  it('rejects unterminated quotes and trailing backslashes', () => {
    expect(() => parse(`a 'b`)).toThrow(ShellWordsError);
    expect(() => parse(`a "b`)).toThrow(ShellWordsError);
    expect(() => parse('a \\')).toThrow(ShellWordsError);
  });
  it('substitutes {socket} and {id} in every word', () => {
    expect(expandCommand(`x --file-prefix={id} 'p={socket}'`, '/t/s.sock', 'vl1')).toEqual(['x', '--file-prefix=vl1', 'p=/t/s.sock']);
  });
});
