/**
 * `vhostlab report`: renders saved result files (`vhostlab.result/v1`) as HTML, JUnit, Markdown,
 * TAP or JSON, and `vhostlab report diff` compares two runs and gates CI on regressions.
 * Wiring only: every format is a pure writer in `reports/`.
 * @module
 */
import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  diffResults,
  formatDiff,
  hasRegression,
  isResultFileError,
  loadResultFile,
  toHtml,
  toJson,
  toJUnit,
  toMarkdown,
  toTap,
  type ResultDocument,
} from '../../reports/index.js';
import { ExitCode, UsageError } from '../exit.js';

/** Where the command writes; `process` in real use, a fake in tests. */
export type ReportIo = {
  stdout(text: string): void;
  stderr(text: string): void;
  setExitCode(code: number): void;
};

const processIo: ReportIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  setExitCode: (c) => void (process.exitCode = c),
};

type RenderOptions = { html?: string; junit?: string; markdown?: string; tap?: string; json?: string };

const WRITERS: readonly [keyof RenderOptions, string, (docs: ResultDocument[]) => string][] = [
  ['html', 'HTML report', (d) => toHtml(d)],
  ['junit', 'JUnit XML', toJUnit],
  ['markdown', 'Markdown summary', toMarkdown],
  ['tap', 'TAP', toTap],
  ['json', 'JSON', toJson],
];

// A missing, corrupt or invalid result file is bad input to the command: exit 2, naming it.
function load(files: readonly string[]): ResultDocument[] {
  return files.flatMap((f) => {
    try {
      return loadResultFile(f);
    } catch (err) {
      if (isResultFileError(err)) throw new UsageError(`report: ${err.message}`);
      throw err;
    }
  });
}

function output(io: ReportIo, target: string, what: string, text: string): void {
  if (target === '-') return io.stdout(text);
  try {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  } catch (err) {
    throw new UsageError(`report: cannot write ${what} to ${target}: ${(err as Error).message}`);
  }
  io.stderr(`vhostlab: wrote ${what} to ${target}\n`);
}

function percent(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`report diff: --threshold wants a percentage >= 0, got ${JSON.stringify(value)}`);
  return n / 100;
}

/** Registers `report` (and `report diff`) writing through `io`. */
export function registerReport(program: Command, io: ReportIo): void {
  // `report --json FILE` and `report diff --json` share a name. Commander hands options that
  // follow a sub-command to the parent first unless the parents stop parsing at their
  // sub-command; the program has no options of its own but -h/-V, so this changes nothing else.
  program.enablePositionalOptions();
  const report = program
    .command('report')
    .description('render saved result files as HTML, JUnit, Markdown, TAP or JSON; compare two runs')
    .enablePositionalOptions()
    .argument('<results...>', 'result files (vhostlab.result/v1 JSON) to render together')
    .option('--html <file>', 'write a self-contained HTML report (charts, filterable cases, evidence)')
    .option('--junit <file>', 'write JUnit XML for CI test tabs (GitHub Actions, GitLab, Jenkins)')
    .option('--markdown <file>', 'write a Markdown summary (e.g. "$GITHUB_STEP_SUMMARY")')
    .option('--tap <file>', 'write a TAP 14 stream')
    .option('--json <file>', 'write the result document(s) back as JSON (several runs: an array)')
    .addHelpText(
      'after',
      `
Several result files are rendered together, one run per file (e.g. the same suite against two
back-ends). With no output option the Markdown summary goes to stdout; "-" as a file name also
means stdout. A missing, unreadable or invalid result file is named with what is wrong, exit 2.

Examples:
  vhostlab report vhostlab-report/result.json --html report.html --junit junit.xml
  vhostlab report result.json --markdown "$GITHUB_STEP_SUMMARY"
  vhostlab report diff baseline.json candidate.json     # exit 1 on a regression`,
    )
    .action((files: string[], o: RenderOptions) => {
      const docs = load(files);
      const chosen = WRITERS.filter(([key]) => o[key] !== undefined);
      if (chosen.length === 0) return io.stdout(toMarkdown(docs));
      for (const [key, what, write] of chosen) output(io, o[key] as string, what, write(docs));
    });

  report
    .command('diff')
    .description('compare two runs: new failures, fixes, cases added or removed, benchmark changes')
    .argument('<old>', 'the baseline result file')
    .argument('<new>', 'the candidate result file')
    .option('--json', 'print the differences as one JSON document on stdout')
    .option('--threshold <percent>', 'benchmark change treated as noise, in percent', '10')
    .addHelpText(
      'after',
      `
Cases are matched by id, benchmarks by name, unit and parameters. A regression is a case that
passed (or was skipped or waived) and now fails or errors, a new case that fails, or a benchmark
that moved the wrong way by more than the threshold (rates down, times up).

Exit codes: 0 no regression, 1 regression, 2 a file is missing or invalid.`,
    )
    .action((oldFile: string, newFile: string, o: { json?: boolean; threshold: string }) => {
      const threshold = percent(o.threshold);
      const [before, after] = [oldFile, newFile].map((f) => {
        const docs = load([f]);
        if (docs.length !== 1) throw new UsageError(`report diff: ${f} holds ${docs.length} runs; diff compares one run with one run`);
        return docs[0];
      });
      const diff = diffResults(before, after, { threshold });
      const regression = hasRegression(diff);
      io.stdout(o.json ? `${JSON.stringify({ ...diff, regression }, null, 2)}\n` : formatDiff(diff));
      io.setExitCode(regression ? ExitCode.FAILED : ExitCode.OK);
    });
}

/** Registers `report` on the `vhostlab` program. */
export function register(program: Command): void {
  registerReport(program, processIo);
}
