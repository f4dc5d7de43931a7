/**
 * JSON writer: the result document itself, pretty-printed. Several runs are written as a JSON
 * array of documents, which `parseResults` reads back.
 * @module
 */
import type { ReportInput } from './runs.js';

/** Renders results as JSON text (two-space indent, ending in a newline). */
export function toJson(report: ReportInput): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
