/**
 * Writers take one document or several (`vhostlab report a.json b.json`); this module turns
 * either into labelled runs, so every writer handles the plural case the same way.
 * @module
 */
import { CASE_STATUSES, summarize, type CaseResult, type CaseStatus, type ResultDocument, type ResultSummary } from './model.js';

/** What every writer accepts: one run or several. */
export type ReportInput = ResultDocument | readonly ResultDocument[];

/** A document with the short label reports show for it. */
export type Run = {
  /** Unique among the runs: the profile, else the first word of the command, else `run N`. */
  label: string;
  /** The document itself. */
  doc: ResultDocument;
};

/** Labels each document; labels are unique (a repeated one gets ` #2`, ` #3`…). */
export function toRuns(report: ReportInput): Run[] {
  const docs: readonly ResultDocument[] = Array.isArray(report) ? report : [report as ResultDocument];
  const used = new Map<string, number>();
  return docs.map((doc, i) => {
    const base = doc.backend.profile || doc.backend.command?.trim().split(/\s+/)[0] || `run ${i + 1}`;
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    return { label: n === 1 ? base : `${base} #${n}`, doc };
  });
}

/** The case counts over every run. */
export function totalSummary(runs: readonly Run[]): ResultSummary {
  return summarize(runs.flatMap((r) => r.doc.cases));
}

/** The worse of two statuses, in the order of {@link CASE_STATUSES} (fail is worst). */
export function worseStatus(a: CaseStatus, b: CaseStatus): CaseStatus {
  return CASE_STATUSES.indexOf(a) <= CASE_STATUSES.indexOf(b) ? a : b;
}

/** One area of one run with its cases in run order. */
export type AreaGroup = { run: Run; area: string; cases: CaseResult[] };

/** Groups each run's cases by area, areas in order of first appearance. */
export function groupByArea(runs: readonly Run[]): AreaGroup[] {
  const out: AreaGroup[] = [];
  for (const run of runs) {
    const byArea = new Map<string, CaseResult[]>();
    for (const c of run.doc.cases) {
      const list = byArea.get(c.area) ?? [];
      if (list.length === 0) byArea.set(c.area, list);
      list.push(c);
    }
    for (const [area, cases] of byArea) out.push({ run, area, cases });
  }
  return out;
}

/** Compares requirement ids so that `VU-MSG-2` sorts before `VU-MSG-10`. */
export function compareIds(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** One requirement and every case that checks it. */
export type RequirementCoverage = {
  /** Requirement id, e.g. `VU-MSG-001`. */
  requirement: string;
  /** The worst status among its cases. */
  status: CaseStatus;
  /** The cases that name it, with their run. */
  cases: { run: string; id: string; status: CaseStatus }[];
};

/** The requirement → cases matrix over every run, sorted by requirement id. */
export function requirementCoverage(runs: readonly Run[]): RequirementCoverage[] {
  const byReq = new Map<string, RequirementCoverage>();
  for (const run of runs) {
    for (const c of run.doc.cases) {
      for (const r of c.requirements) {
        const entry = byReq.get(r) ?? { requirement: r, status: c.status, cases: [] };
        byReq.set(r, entry);
        entry.status = worseStatus(entry.status, c.status);
        entry.cases.push({ run: run.label, id: c.id, status: c.status });
      }
    }
  }
  return [...byReq.values()].sort((a, b) => compareIds(a.requirement, b.requirement));
}
