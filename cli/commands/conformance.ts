/**
 * `vhostlab conformance`: runs the suite against a back-end given by a profile, an ad-hoc
 * command, or the built-in reference back-end; prints progress and results, writes reports, and
 * sets the exit code of DESIGN.md (0 all passed or waived, 1 a failure, 2 bad usage or profile,
 * 3 the back-end could not be started or reached).
 *
 * SHOULD/MAY failures are reported as failures but warn only, unless `--strict` (STYLE §24).
 * @module
 */
import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allCases } from '../../conformance/cases/index.js';
import type { ConformanceCase } from '../../conformance/model.js';
import { ProfileError, adHocProfile, loadProfile, type Profile } from '../../conformance/profiles/load-profile.js';
import { loadRequirements, loadUnobservable } from '../../conformance/requirements/index.js';
import {
  PeerStartError, PeerTarget, buildDocument, exitCodeOf, expectedResultCount, failsRun, loadExpectations, runSuite, selectCases, type ExpectationEntry,
} from '../../conformance/runner/index.js';
import { createProgress, toHtml, toJUnit, toJson, toMarkdown, type CaseResult } from '../../reports/index.js';
import { ExitCode, UsageError } from '../exit.js';
import { PeerUnreachableError, parsePositiveInt } from '../session-options.js';

interface ConformanceOptions {
  profile?: string;
  backend?: string;
  mode?: string;
  type?: string;
  builtin?: boolean;
  only?: string[];
  skip?: string[];
  strict?: boolean;
  reportDir?: string;
  json?: boolean;
  junit?: string;
  html?: string;
  list?: boolean;
  coverage?: boolean;
  timeout?: number;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').filter(Boolean)];

/** Registers `conformance`. */
export function register(program: Command): void {
  program.command('conformance')
    .description('run the conformance suite against a vhost-user back-end')
    .option('--profile <file|name>', 'peer profile (JSON file or shipped name, e.g. dpdk-testpmd)')
    .option('--backend <cmd>', "command that starts the back-end; {socket} is the socket path, {id} a unique token")
    .option('--mode <mode>', 'with --backend: server (the back-end listens) or client (it connects)', 'server')
    .option('--type <type>', 'with --backend: device type', 'net')
    .option('--builtin', 'run against the built-in reference back-end (the reference profile)')
    .option('--only <prefix>', 'run only cases whose id starts with a prefix (repeatable)', collect)
    .option('--skip <prefix>', 'skip cases whose id starts with a prefix (repeatable)', collect)
    .option('--strict', 'SHOULD/MAY failures fail the run (default: they warn)')
    .option('--report-dir <dir>', 'write result.json, junit.xml, report.html and summary.md there')
    .option('--json', 'print only the result document on stdout')
    .option('--junit <file>', 'write JUnit XML')
    .option('--html <file>', 'write the HTML report')
    .option('--list', 'list the cases (id, level, requirements) and exit')
    .option('--coverage', 'print requirement coverage and the uncovered T0 MUST/ROBUST requirements, and exit')
    .option('--timeout <ms>', 'per-case time limit, overriding each case\'s own', parsePositiveInt)
    .addHelpText('after', `
Exit codes: 0 every case passed or was waived by the profile's expectation list; 1 a case failed
(or an expected failure passed); 2 bad usage or profile; 3 the back-end could not be started.

Examples:
  vhostlab conformance --builtin
  vhostlab conformance --profile dpdk-testpmd --report-dir out/
  vhostlab conformance --backend 'my-backend --socket {socket}' --mode server --type net --only framing/`)
    .action(async (o: ConformanceOptions) => {
      if (o.list) return printList(o);
      if (o.coverage) return printCoverage();
      process.exitCode = await runConformance(o);
    });
}

function selected(o: ConformanceOptions): ConformanceCase[] {
  const { cases, unmatched } = selectCases(allCases, { only: o.only ?? [], skip: o.skip ?? [] });
  if (unmatched.length > 0) throw new UsageError(`no case id starts with: ${unmatched.join(', ')} (see --list)`);
  return cases;
}

function printList(o: ConformanceOptions): void {
  const cases = selected(o);
  if (o.json) {
    process.stdout.write(`${JSON.stringify(cases.map((c) => ({ id: c.id, level: c.level, area: c.area, requirements: c.requirements, title: c.title })), null, 2)}\n`);
    return;
  }
  const w = Math.max(...cases.map((c) => c.id.length));
  for (const c of cases) process.stdout.write(`${c.id.padEnd(w)}  ${c.level.padEnd(7)}  ${c.requirements.join(',')}\n`);
  process.stdout.write(`${cases.length} cases\n`);
}

function printCoverage(): void {
  const byReq = new Map<string, string[]>();
  for (const c of allCases) for (const r of c.requirements) byReq.set(r, [...(byReq.get(r) ?? []), c.id]);
  const reqs = loadRequirements();
  const unobservable = new Map(loadUnobservable().map((e) => [e.id, e.reason]));
  const out: string[] = ['Requirement coverage (cases per requirement):'];
  for (const r of reqs) {
    const cases = byReq.get(r.id);
    if (cases) out.push(`  ${r.id.padEnd(14)} ${r.level.padEnd(7)} ${cases.join(', ')}`);
  }
  const unknown = [...byReq.keys()].filter((id) => !reqs.some((r) => r.id === id));
  if (unknown.length > 0) out.push(`Cases cite unknown requirement ids: ${unknown.join(', ')}`);
  const uncovered = reqs.filter((r) => r.tier === 'T0' && (r.level === 'MUST' || r.level === 'ROBUST') && !byReq.has(r.id));
  out.push('', `T0 MUST/ROBUST requirements with no case (${uncovered.length}):`);
  for (const r of uncovered) {
    out.push(`  ${r.id.padEnd(14)} ${r.level.padEnd(7)} ${unobservable.get(r.id) ?? 'NOT YET COVERED: no case and no reason it cannot be observed'}`);
  }
  const covered = reqs.filter((r) => byReq.has(r.id)).length;
  out.push('', `${covered} of ${reqs.length} requirements have at least one case; ${allCases.length} cases.`);
  process.stdout.write(`${out.join('\n')}\n`);
}

function resolveProfile(o: ConformanceOptions): Profile {
  const chosen = [o.profile !== undefined, o.backend !== undefined, o.builtin === true].filter(Boolean).length;
  if (chosen !== 1) throw new UsageError('give exactly one of --profile, --backend or --builtin');
  try {
    if (o.builtin) return loadProfile('reference');
    if (o.profile) return loadProfile(o.profile);
    return adHocProfile(o.backend!, o.mode ?? 'server', o.type ?? 'net');
  } catch (err) {
    if (err instanceof ProfileError) throw new UsageError(err.message);
    throw err;
  }
}

async function runConformance(o: ConformanceOptions): Promise<number> {
  const profile = resolveProfile(o);
  const cases = selected(o);
  let expectations: ExpectationEntry[] = [];
  if (profile.expectations) {
    try {
      expectations = loadExpectations(profile.expectations, new Set(allCases.map((c) => c.id)));
    } catch (err) {
      if (err instanceof ProfileError) throw new UsageError(err.message);
      throw err;
    }
  }
  const strict = o.strict ?? false;
  const progress = createProgress(process.stderr, { label: `conformance ${profile.name}`, total: expectedResultCount(cases, profile.expectFeatures, profile.expectProtocolFeatures), unit: 'cases' });
  const counts = { pass: 0, fail: 0, skip: 0, error: 0, waived: 0 };
  const target = new PeerTarget(profile, o.reportDir ? { logDir: join(o.reportDir, 'logs') } : {});
  // Interrupted (Ctrl-C, CI cancelling the job): stop the peer we started before leaving, so no
  // busy-polling DPDK or back-end process outlives the run.
  const onSignal = (signal: NodeJS.Signals): void => {
    progress.done(`conformance: ${signal}, stopping the peer`);
    void target.stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let run;
  try {
    run = await runSuite({
      cases, target, expectations,
      ...(o.timeout !== undefined ? { timeoutMs: o.timeout } : {}),
      loopingNet: profile.loopingNet,
      expectFeatures: profile.expectFeatures,
      expectProtocolFeatures: profile.expectProtocolFeatures,
      // On a terminal the live line names the running case; in a log, one line per case would
      // only repeat the result table, so plain output keeps to periodic status lines.
      onCaseStart: (c) => { if (process.stderr.isTTY) progress.update({ current: c.id }); },
      onResult: (r) => {
        counts[r.status] += 1;
        progress.update({ ...counts });
        if (r.status === 'fail' || r.status === 'error') progress.log(resultLine(r, strict));
      },
    });
  } catch (err) {
    progress.done();
    if (err instanceof PeerStartError) throw new PeerUnreachableError(err.message, { cause: err });
    throw new PeerUnreachableError(`cannot reach the back-end of profile ${profile.name}: ${(err as Error).message}`, { cause: err });
  }
  const doc = buildDocument(run, { profile: profile.name, command: profile.command });
  const code = exitCodeOf(run.results, strict, run.aborted);
  const s = doc.summary;
  progress.done(`${profile.name}: ${s.total} cases, ${s.pass} passed, ${s.fail} failed, ${s.waived} waived, ${s.skip} skipped, ${s.error} errors in ${(doc.durationMs / 1000).toFixed(1)} s → exit ${code}${run.aborted ? ` (${run.aborted})` : ''}`);
  if (o.reportDir) {
    mkdirSync(o.reportDir, { recursive: true });
    writeFileSync(join(o.reportDir, 'result.json'), toJson(doc));
    writeFileSync(join(o.reportDir, 'junit.xml'), toJUnit(doc));
    writeFileSync(join(o.reportDir, 'report.html'), toHtml(doc));
    writeFileSync(join(o.reportDir, 'summary.md'), toMarkdown(doc));
  }
  if (o.junit) writeFileSync(o.junit, toJUnit(doc));
  if (o.html) writeFileSync(o.html, toHtml(doc));
  if (o.json) process.stdout.write(toJson(doc).endsWith('\n') ? toJson(doc) : `${toJson(doc)}\n`);
  else {
    for (const r of run.results) process.stdout.write(`${resultLine(r, strict)}\n`);
  }
  return code === ExitCode.OK ? ExitCode.OK : code;
}

function resultLine(r: CaseResult, strict: boolean): string {
  const tag = r.status === 'fail' && !failsRun(r, strict) ? 'WARN' : r.status.toUpperCase();
  const why = r.status === 'pass' ? '' : ` — ${(r.actual ?? r.detail).split('\n')[0]}`;
  return `${tag.padEnd(6)} ${r.id}${r.expectation ? ` [${r.expectation}]` : ''}${why}`;
}
