/**
 * The result document, schema `vhostlab.result/v1` (DESIGN.md "The result document"): the one
 * model every writer, the diff and the results service read. Conformance, fuzzing and benchmarks
 * produce it; nothing downstream re-derives facts from anywhere else.
 *
 * The JSON Schema twin of these types is `reports/schema/result-v1.schema.json` (published in the
 * package); `validateResult` in `validate.ts` checks a loaded document against it.
 * @module
 */

/** The schema identifier every document carries in its `schema` field. */
export const RESULT_SCHEMA = 'vhostlab.result/v1' as const;

/** What happened to one case. `waived` is a failure the profile's waiver list accepts. */
export const CaseStatus = {
  PASS: 'pass',
  FAIL: 'fail',
  SKIP: 'skip',
  WAIVED: 'waived',
  ERROR: 'error',
} as const;

/** One of {@link CaseStatus}. */
export type CaseStatus = (typeof CaseStatus)[keyof typeof CaseStatus];

/** Every status, in the order reports list them (worst first). */
export const CASE_STATUSES: readonly CaseStatus[] = ['fail', 'error', 'waived', 'skip', 'pass'];

/**
 * Requirement level (CHECKLIST.md §0.3): MUST/SHOULD/MAY as the spec says; ROBUST for what no
 * spec states but every CVE shows users rely on; INTEROP for what QEMU's actual behaviour needs.
 */
export const CaseLevel = {
  MUST: 'MUST',
  SHOULD: 'SHOULD',
  MAY: 'MAY',
  ROBUST: 'ROBUST',
  INTEROP: 'INTEROP',
} as const;

/** One of {@link CaseLevel}. */
export type CaseLevel = (typeof CaseLevel)[keyof typeof CaseLevel];

/** Every level, strongest first. */
export const CASE_LEVELS: readonly CaseLevel[] = ['MUST', 'SHOULD', 'MAY', 'ROBUST', 'INTEROP'];

/**
 * How a case compared with the target's known-failure list, when it is on one (STYLE.md §23):
 * `xfail` failed as listed (its status is then `waived`), `xpass` passed although listed (its
 * status is then `fail`, because the lists are compared exactly).
 */
export const Expectation = { XFAIL: 'xfail', XPASS: 'xpass' } as const;

/** One of {@link Expectation}. */
export type Expectation = (typeof Expectation)[keyof typeof Expectation];

/** A message the suite exchanged with the peer, rendered as text (spec names, decoded fields). */
export type EvidenceMessage = {
  /** Seen from vhostlab: `sent` to the peer or `received` from it. */
  dir: 'sent' | 'received';
  /** The message as a reader wants it, e.g. `SET_VRING_NUM {index: 0, num: 256} flags=0x9`. */
  message: string;
  /** Milliseconds since the case started, when known. */
  at?: number;
};

/** A free note in a case's evidence: an observation that is not a message (a time-out, a close). */
export type EvidenceNote = {
  /** The observation in words. */
  note: string;
  /** Milliseconds since the case started, when known. */
  at?: number;
};

/** One item of a case's evidence, in the order it happened. */
export type Evidence = EvidenceMessage | EvidenceNote;

/** The outcome of one conformance case. */
export type CaseResult = {
  /** Stable slug, e.g. `backend/reply-ack/nack-on-handler-failure`. */
  id: string;
  /** One line for humans. */
  title: string;
  /** The group the case belongs to (a spec section or requirement group), e.g. `reply-ack`. */
  area: string;
  /** Requirement ids from CHECKLIST.md §5, e.g. `VU-PF-003`. */
  requirements: string[];
  /** How strongly the spec asks for it. */
  level: CaseLevel;
  /** What happened. */
  status: CaseStatus;
  /** Set only when the case is on the target's known-failure list. */
  expectation?: Expectation;
  /** Wall time of the case. */
  durationMs: number;
  /** Why it failed, was skipped or waived; empty or a short remark when it passed. */
  detail: string;
  /** The messages exchanged and notes, in order. */
  evidence: Evidence[];
  /** What the case would have accepted (a verifier's alternatives), for failures. */
  expected?: string[];
  /** What the peer actually did, for failures. */
  actual?: string;
};

/** Value of a benchmark parameter. */
export type BenchmarkParam = string | number | boolean;

/** One measured number. */
export type BenchmarkResult = {
  /** What was measured, e.g. `tx` or `loopback`. */
  name: string;
  /** Unit of `value`, e.g. `pps`, `Mpps`, `Gbit/s`, `ns`. */
  unit: string;
  /** The measurement. */
  value: number;
  /**
   * The conditions, e.g. `{impl: 'vhostlab', size: 64, ring: 'packed'}`. Results whose `name`,
   * `unit` and parameters other than `impl` agree are drawn side by side.
   */
  params: Record<string, BenchmarkParam>;
  /**
   * Which direction is better; when absent it follows from the unit (rates: higher; times:
   * lower), see `higherIsBetter` in `benchmarks.ts`.
   */
  better?: 'higher' | 'lower';
  /**
   * How the figure was obtained, where that varies from run to run (execution counts, start-up
   * time, per-seed times, whether a goal was met). Shown with the figure, never used to match
   * runs: only `name`, `unit` and `params` identify a benchmark.
   */
  details?: Record<string, BenchmarkParam | BenchmarkParam[]>;
};

/** The back-end (or front-end) under test, as started and as it answered. */
export type BackendInfo = {
  /** Profile name or path, when one was used. */
  profile?: string;
  /** The command line that started the peer, with `{socket}` left in. */
  command?: string;
  /** `server`: the peer listens; `client`: vhostlab listens and the peer connects. */
  mode?: 'server' | 'client';
  /** Virtio device type, e.g. `net`. */
  deviceType?: string;
  /** Virtio feature bits the peer offered, as `0x…`. */
  features?: string;
  /** Protocol feature bits the peer offered, as `0x…`. */
  protocolFeatures?: string;
};

/** Where the run happened (the platform fingerprint). Further string/number keys are allowed. */
export type PlatformInfo = {
  /** CPU model name. */
  cpu?: string;
  /** Number of NUMA nodes. */
  numaNodes?: number;
  /** Kernel release. */
  kernel?: string;
  [key: string]: string | number | boolean | null | undefined;
};

/** Case counts; `total` is the sum of the others. */
export type ResultSummary = {
  total: number;
  pass: number;
  fail: number;
  skip: number;
  waived: number;
  error: number;
};

/** One run: the document `vhostlab.result/v1`. */
export type ResultDocument = {
  /** Always {@link RESULT_SCHEMA}. */
  schema: typeof RESULT_SCHEMA;
  /** The tool that wrote it. */
  tool: { name: string; version: string };
  /** ISO-8601 start time. */
  startedAt: string;
  /** Wall time of the whole run. */
  durationMs: number;
  /** The peer under test. */
  backend: BackendInfo;
  /** The platform fingerprint. */
  platform: PlatformInfo;
  /** Every case, in run order. */
  cases: CaseResult[];
  /** Benchmark numbers, possibly none. */
  benchmarks: BenchmarkResult[];
  /** Counts of `cases` by status, as {@link summarize} computes them. */
  summary: ResultSummary;
};

/** Counts cases by status. */
export function summarize(cases: readonly Pick<CaseResult, 'status'>[]): ResultSummary {
  const s: ResultSummary = { total: 0, pass: 0, fail: 0, skip: 0, waived: 0, error: 0 };
  for (const c of cases) {
    s.total += 1;
    s[c.status] += 1;
  }
  return s;
}

/** True for statuses that fail a run (DESIGN.md exit code 1): `fail` and `error`. */
export function isFailing(status: CaseStatus): boolean {
  return status === 'fail' || status === 'error';
}

/** True when an evidence item is a message rather than a note. */
export function isEvidenceMessage(e: Evidence): e is EvidenceMessage {
  return 'dir' in e;
}
