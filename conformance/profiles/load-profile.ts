/**
 * Peer profiles (DESIGN.md "How data flows"): how to start a back-end, who listens, what device
 * it is, what it must offer, and which expectation list applies. A profile is plain JSON checked
 * field by field on load; a malformed one is a {@link ProfileError} naming the field (the CLI
 * maps it to exit code 2).
 *
 * Placeholders in `command` and `env` values: `{socket}` (socket path) and `{id}` (a token unique
 * to each started instance) are filled in per start; `{tmpdir}` (a scratch folder the runner
 * creates and removes), `{package}` (the vhostlab package root) and `{node}` (this Node binary)
 * are filled in once per run.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import {
  NetFeature, ProtocolFeature, VirtioFeature, type DeviceType,
} from '../../fakes/wire/index.js';
import { conformancePath } from '../paths.js';

/** Thrown for a missing or malformed profile; `field` names the offending field. */
export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  readonly code = 'VHL_ERR_PROFILE';
  constructor(readonly source: string, readonly field: string | undefined, message: string) {
    super(`profile ${source}${field ? `: field "${field}"` : ''}: ${message}`);
  }
}

/** A checked profile. */
export interface Profile {
  /** Short name, used in reports. */
  readonly name: string;
  readonly description?: string;
  /** Command line with placeholders (see the module comment). */
  readonly command: string;
  /** `server`: the peer listens, vhostlab connects; `client`: vhostlab listens, the peer connects. */
  readonly mode: 'server' | 'client';
  readonly deviceType: DeviceType;
  /** Virtio feature bits the peer must offer (names of §4.1/§4.2, or bit numbers). */
  readonly expectFeatures: readonly number[];
  /** Protocol feature bits the peer must offer. */
  readonly expectProtocolFeatures: readonly number[];
  readonly env: Readonly<Record<string, string>>;
  /** How long the peer may take to become reachable (default 15 000 ms). */
  readonly startupTimeoutMs: number;
  /** Start a fresh peer for every case (peers that serve one connection and exit). */
  readonly restartPerCase: boolean;
  /** A net peer that loops frames back (testpmd macswap, the reference net device). */
  readonly loopingNet: boolean;
  /** Absolute path of the expectation list, if any. */
  readonly expectations?: string;
  /** Where the profile came from (file path or `builtin:NAME`). */
  readonly source: string;
}

const DEVICE_TYPES: readonly DeviceType[] = ['net', 'blk', 'scsi', 'fs', 'gpu', 'vsock', 'input', 'crypto', 'generic'];
const KNOWN_FIELDS = new Set([
  '$comment', 'name', 'description', 'command', 'mode', 'deviceType', 'expectFeatures', 'expectProtocolFeatures',
  'env', 'startupTimeoutMs', 'restartPerCase', 'loopingNet', 'expectations',
]);

/** The folder of the profiles shipped with vhostlab. */
export const builtinProfileDir = (): string => conformancePath('profiles');

/**
 * Loads a profile: a path to a JSON file, or the name of a shipped profile (`dpdk-testpmd`).
 * Throws {@link ProfileError}.
 */
export function loadProfile(pathOrName: string): Profile {
  let path = pathOrName;
  if (!existsSync(path) && !pathOrName.includes('/') && !pathOrName.endsWith('.json')) {
    path = join(builtinProfileDir(), `${pathOrName}.json`);
  }
  if (!existsSync(path)) throw new ProfileError(pathOrName, undefined, 'no such file or shipped profile');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ProfileError(path, undefined, `not valid JSON: ${(err as Error).message}`);
  }
  return checkProfile(raw, path, dirname(path));
}

/** Checks a parsed profile object; `baseDir` resolves a relative `expectations` path. */
export function checkProfile(raw: unknown, source: string, baseDir: string): Profile {
  const fail = (field: string | undefined, msg: string): never => { throw new ProfileError(source, field, msg); };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(undefined, 'must be a JSON object');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN_FIELDS.has(k)) fail(k, 'unknown field');
  const str = (k: string, required: boolean): string | undefined => {
    const v = o[k];
    if (v === undefined) return required ? fail(k, 'is required') : undefined;
    if (typeof v !== 'string' || v.trim() === '') return fail(k, 'must be a non-empty string');
    return v;
  };
  const bool = (k: string, dflt: boolean): boolean => {
    const v = o[k];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') return fail(k, 'must be true or false');
    return v;
  };
  const name = str('name', true)!;
  const command = str('command', true)!;
  if (!command.includes('{socket}')) fail('command', 'must contain the {socket} placeholder');
  const mode = str('mode', true)! as Profile['mode'];
  if ((mode as string) !== 'server' && (mode as string) !== 'client') fail('mode', `must be "server" or "client", not "${mode}"`);
  const deviceType = str('deviceType', true)! as DeviceType;
  if (!DEVICE_TYPES.includes(deviceType)) fail('deviceType', `must be one of ${DEVICE_TYPES.join(', ')}`);
  const features = featureList(o.expectFeatures, 'expectFeatures', deviceType === 'net' ? [VirtioFeature, NetFeature] : [VirtioFeature], fail);
  const protocolFeatures = featureList(o.expectProtocolFeatures, 'expectProtocolFeatures', [ProtocolFeature], fail);
  let env: Record<string, string> = {};
  if (o.env !== undefined) {
    if (typeof o.env !== 'object' || o.env === null || Array.isArray(o.env)) fail('env', 'must be an object of strings');
    for (const [k, v] of Object.entries(o.env as object)) if (typeof v !== 'string') fail(`env.${k}`, 'must be a string');
    env = { ...(o.env as Record<string, string>) };
  }
  let startupTimeoutMs = 15_000;
  if (o.startupTimeoutMs !== undefined) {
    const v = o.startupTimeoutMs;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 100 || v > 600_000) fail('startupTimeoutMs', 'must be a whole number of ms in 100..600000');
    startupTimeoutMs = v as number;
  }
  const description = str('description', false);
  let expectations: string | undefined;
  const e = str('expectations', false);
  if (e !== undefined) {
    expectations = isAbsolute(e) ? e : join(baseDir, e);
    if (!existsSync(expectations)) fail('expectations', `file ${expectations} does not exist`);
  }
  return {
    name, command, mode, deviceType, env, startupTimeoutMs, source,
    expectFeatures: features, expectProtocolFeatures: protocolFeatures,
    restartPerCase: bool('restartPerCase', false),
    loopingNet: bool('loopingNet', deviceType === 'net'),
    ...(description !== undefined ? { description } : {}),
    ...(expectations !== undefined ? { expectations } : {}),
  };
}

function featureList(
  v: unknown, field: string, tables: readonly Readonly<Record<string, number>>[],
  fail: (field: string, msg: string) => never,
): number[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return fail(field, 'must be an array of feature names or bit numbers');
  return v.map((item, i) => {
    if (typeof item === 'number' && Number.isInteger(item) && item >= 0 && item <= 63) return item;
    if (typeof item === 'string') {
      for (const t of tables) if (item in t) return t[item]!;
    }
    return fail(`${field}[${i}]`, `unknown feature ${JSON.stringify(item)}`);
  });
}

/** A profile for `--backend 'CMD {socket}' --mode M --type T` (no file, no expectations). */
export function adHocProfile(command: string, mode: string, deviceType: string): Profile {
  return checkProfile({ name: basename(command.split(/\s+/)[0] ?? 'backend'), command, mode, deviceType }, '--backend', process.cwd());
}
