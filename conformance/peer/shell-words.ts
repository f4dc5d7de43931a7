/**
 * Splits a command line into words the way a POSIX shell does for the simple cases profiles use:
 * whitespace separates words, single quotes keep everything literal, double quotes keep spaces
 * and honour backslash escapes, a backslash outside quotes escapes the next character. No
 * expansion of variables, globs or substitutions: a profile's command is data, not a script.
 * @module
 */

/** Thrown for an unterminated quote or a trailing backslash. */
export class ShellWordsError extends Error {
  override readonly name = 'ShellWordsError';
}

/** Splits `line` into words. */
export function parse(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ShellWordsError(`unterminated single quote in: ${line}`);
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1])) j++;
        word += line[j];
      }
      if (j >= line.length) throw new ShellWordsError(`unterminated double quote in: ${line}`);
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new ShellWordsError(`trailing backslash in: ${line}`);
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
