/**
 * `reports/`: the result model (`vhostlab.result/v1`), its validation, the pure writers (JSON,
 * JUnit XML, TAP 14, Markdown, HTML), run-to-run diffs and the terminal progress display.
 * @module
 */
export * from './model.js';
export { resultSchema, resultSchemaPath } from './schema.js';
export { isResultDocument, loadResultFile, parseResults, validateResult } from './validate.js';
export { isResultFileError, ReportError, ResultFileError } from './errors.js';
export { toRuns, totalSummary, requirementCoverage, type ReportInput, type Run, type RequirementCoverage } from './runs.js';
export { benchmarkCharts, benchmarkKey, formatParams, higherIsBetter, type BenchmarkChart } from './benchmarks.js';
export { toJson } from './json.js';
export { toJUnit } from './junit.js';
export { toTap } from './tap.js';
export { toMarkdown } from './markdown.js';
export { toHtml, type HtmlOptions } from './html.js';
export {
  DEFAULT_NOISE_THRESHOLD,
  diffResults,
  formatDiff,
  hasRegression,
  type BenchmarkChange,
  type CaseChange,
  type CaseRef,
  type DiffOptions,
  type ResultDiff,
} from './diff.js';
export { createProgress, formatElapsed, type Progress, type ProgressOptions, type ProgressState, type ProgressStream } from './progress.js';
