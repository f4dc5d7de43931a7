/**
 * The result document of a run (`vhostlab.result/v1`, DESIGN.md) and the run's exit code.
 * @module
 */
import { cpus, release } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { RESULT_SCHEMA, summarize, type CaseResult, type PlatformInfo, type ResultDocument } from '../../reports/index.js';
import { packageRoot } from '../paths.js';
import type { SuiteRun } from './run-suite.js';
import { failsRun } from './run-suite.js';
import { join } from 'node:path';

/** Exit codes of `vhostlab conformance` (DESIGN.md). */
export const ConformanceExit = { OK: 0, FAILED: 1, USAGE: 2, PEER_UNREACHABLE: 3 } as const;

/** What the document says about the peer besides what the run learnt. */
export interface DocumentPeer {
  profile?: string;
  command?: string;
}

/** Builds the result document of `run`. */
export function buildDocument(run: SuiteRun, peer: DocumentPeer): ResultDocument {
  return {
    schema: RESULT_SCHEMA,
    tool: { name: 'vhostlab', version: toolVersion() },
    startedAt: run.startedAt.toISOString(),
    durationMs: run.durationMs,
    backend: {
      ...(peer.profile ? { profile: peer.profile } : {}),
      ...(peer.command ? { command: peer.command } : {}),
      mode: run.peer.mode,
      deviceType: run.peer.deviceType,
      features: `0x${run.peer.features.toString(16)}`,
      protocolFeatures: `0x${run.peer.protocolFeatures.toString(16)}`,
    },
    platform: platformInfo(),
    cases: run.results,
    benchmarks: [],
    summary: summarize(run.results),
  };
}

/**
 * The exit code: 3 when the run was cut short because the peer could not be restarted, 1 when a
 * result fails the run ({@link failsRun}: SHOULD/MAY failures only with `strict`), else 0.
 */
export function exitCodeOf(results: readonly CaseResult[], strict: boolean, aborted?: string): number {
  if (aborted) return ConformanceExit.PEER_UNREACHABLE;
  return results.some((r) => failsRun(r, strict)) ? ConformanceExit.FAILED : ConformanceExit.OK;
}

/** The version in vhostlab's package.json (`0.0.0` when it cannot be read). */
export function toolVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** CPU model, NUMA node count, kernel, Node version. */
export function platformInfo(): PlatformInfo {
  let numaNodes = 1;
  try {
    numaNodes = Math.max(1, readdirSync('/sys/devices/system/node').filter((n) => /^node\d+$/.test(n)).length);
  } catch { /* not Linux sysfs: one node */ }
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, numaNodes, kernel: release(), node: process.version };
}
