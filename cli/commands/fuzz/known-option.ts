/**
 * `--known FILE|DIR` of the fuzz commands: reads the reproducers of bugs already reported into
 * the classes a campaign steps over (fuzz/campaign/known.ts), with usage errors for bad paths.
 * @module
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { KnownFindings, findingSignature } from '../../../fuzz/campaign/known.js';
import { readRepro, type Repro, type ReproKindValue } from '../../../fuzz/replay/index.js';
import { UsageError } from '../../exit.js';

/** The `--known` option's parser: repeatable, collected in order. */
export const collectKnown = (v: string, acc?: string[]): string[] => [...(acc ?? []), v];

/**
 * The known findings of `--known` paths: every reproducer of `kind` in a folder, or the file
 * named. Throws UsageError for a path that does not exist, a file that is no reproducer, or one
 * of another fuzzer.
 */
export function loadKnown(cmd: string, kind: ReproKindValue, paths: readonly string[]): KnownFindings | undefined {
  if (paths.length === 0) return undefined;
  const entries: { signature: string; label: string }[] = [];
  for (const path of paths) {
    if (!existsSync(path)) throw new UsageError(`fuzz ${cmd}: --known ${path} does not exist`);
    if (statSync(path).isDirectory()) {
      for (const { file, repro } of corpusFiles(path, kind)) entries.push({ signature: signatureOf(repro), label: basename(file) });
      continue;
    }
    let repro: Repro;
    try {
      repro = readRepro(path);
    } catch (err) {
      throw new UsageError(`fuzz ${cmd}: --known ${path}: ${(err as Error).message}`);
    }
    if (repro.kind !== kind) throw new UsageError(`fuzz ${cmd}: --known ${path} is a ${repro.kind} reproducer, not ${kind}`);
    entries.push({ signature: signatureOf(repro), label: basename(path) });
  }
  return new KnownFindings(entries);
}

/** The class a reproducer records, or (written before signatures) the class of its summary. */
const signatureOf = (r: Repro): string => r.failure.signature ?? findingSignature(r.failure.kind, r.failure.summary);

/** Reproducers of `kind` in `dir`. */
export function corpusFiles(dir: string, kind: ReproKindValue): { file: string; repro: Repro }[] {
  if (!existsSync(dir)) return [];
  const out: { file: string; repro: Repro }[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    try {
      const repro = readRepro(join(dir, f));
      if (repro.kind === kind) out.push({ file: join(dir, f), repro });
    } catch {
      // Not a reproducer: corpus folders may hold notes.
    }
  }
  return out;
}
