#!/usr/bin/env node
// Builds the initramfs of vhostlab's test guest: busybox-static, the virtio-net modules of the
// installed Debian kernel (dependencies resolved from modules.dep, decompressed on the host
// because busybox insmod may not read .ko.xz/.ko.zst) and scripts/guest/init.sh as /init.
//
// Idempotent: the output lives in a cache folder named after a hash of every input, so an
// unchanged kernel, busybox and init script reuse the earlier archive. Nothing is written into the
// repository (the default cache is node_modules/.cache/vhostlab-guest/).
//
//   node scripts/guest/build-initramfs.mjs            prints the path of the initramfs
//   node scripts/guest/build-initramfs.mjs --json     prints {kernel, initramfs, kernelVersion, cacheDir, …}
//   options: --kernel VERSION   --cache DIR   --force
// Environment: VHOSTLAB_GUEST_KERNEL (version), VHOSTLAB_GUEST_CACHE (folder),
// VHOSTLAB_BUSYBOX (path, default /bin/busybox).
// Exit status 2 with a message naming the Debian package when an input is missing.

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { writeCpio } from './cpio.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');

/** Bumped when the archive layout changes in a way the input hash cannot see. */
const LAYOUT_VERSION = 1;

/** Modules the guest needs for virtio-net over PCI; their dependencies are added from modules.dep. */
export const GUEST_MODULES = /** @type {const} */ (['virtio_pci', 'virtio_net']);

/** Thrown when a host prerequisite is missing; `pkg` names the Debian package that provides it. */
export class GuestPrerequisiteError extends Error {
  /** Stable code for callers that branch on the kind of failure. */
  code = 'VHU_ERR_GUEST_PREREQUISITE';
  /**
   * @param {string} message what is missing
   * @param {string} pkg Debian package to install
   */
  constructor(message, pkg) {
    super(`${message} (install the Debian package ${pkg})`);
    this.name = 'GuestPrerequisiteError';
    this.pkg = pkg;
  }
}

/**
 * The default cache folder: $VHOSTLAB_GUEST_CACHE, else $XDG_CACHE_HOME/vhostlab-guest, else
 * node_modules/.cache/vhostlab-guest in the repository.
 * @returns {string}
 */
export function defaultCacheDir() {
  if (process.env.VHOSTLAB_GUEST_CACHE) return process.env.VHOSTLAB_GUEST_CACHE;
  if (process.env.XDG_CACHE_HOME) return join(process.env.XDG_CACHE_HOME, 'vhostlab-guest');
  return join(repoRoot, 'node_modules', '.cache', 'vhostlab-guest');
}

/** Orders kernel versions like `6.1.0-56-amd64` by their numeric parts. */
const compareVersions = (a, b) => {
  const pa = a.split(/[^0-9]+/).filter(Boolean).map(Number);
  const pb = b.split(/[^0-9]+/).filter(Boolean).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
};

/**
 * Finds the kernel to boot: the requested version, or the newest /boot/vmlinuz-* that has a
 * modules folder with modules.dep.
 * @param {string | undefined} wanted
 * @returns {{version: string, kernel: string, modulesDir: string}}
 */
export function findKernel(wanted) {
  const candidates = wanted
    ? [wanted]
    : (existsSync('/boot') ? readdirSync('/boot') : [])
        .filter((f) => f.startsWith('vmlinuz-'))
        .map((f) => f.slice('vmlinuz-'.length))
        .filter((v) => existsSync(join('/lib/modules', v, 'modules.dep')))
        .sort(compareVersions)
        .reverse();
  const version = candidates[0];
  if (!version) throw new GuestPrerequisiteError('no /boot/vmlinuz-* with a matching /lib/modules/<version>/modules.dep', 'linux-image-amd64');
  const kernel = join('/boot', `vmlinuz-${version}`);
  const modulesDir = join('/lib/modules', version);
  if (!existsSync(kernel)) throw new GuestPrerequisiteError(`kernel ${kernel} not found`, 'linux-image-amd64');
  try {
    accessSync(kernel, constants.R_OK);
  } catch {
    throw new GuestPrerequisiteError(`kernel ${kernel} is not readable by this user`, 'linux-image-amd64');
  }
  if (!existsSync(join(modulesDir, 'modules.dep'))) throw new GuestPrerequisiteError(`${modulesDir}/modules.dep not found`, 'linux-image-amd64');
  return { version, kernel, modulesDir };
}

/**
 * True when the ELF file has no program interpreter (PT_INTERP), i.e. it is statically linked and
 * runs in an initramfs that holds no libc.
 * @param {Buffer} elf
 * @returns {boolean}
 */
export function isStaticElf(elf) {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false; // ELF64 only
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > elf.length) return false;
    if (elf.readUInt32LE(at) === 3) return false; // PT_INTERP
  }
  return true;
}

/**
 * Reads and checks busybox: it must exist and be static.
 * @returns {{path: string, bytes: Buffer}}
 */
function loadBusybox() {
  const path = process.env.VHOSTLAB_BUSYBOX ?? '/bin/busybox';
  if (!existsSync(path)) throw new GuestPrerequisiteError(`${path} not found`, 'busybox-static');
  const bytes = readFileSync(path);
  if (!isStaticElf(bytes)) throw new GuestPrerequisiteError(`${path} is not a static x86-64 ELF (the dynamic "busybox" package cannot run in the guest)`, 'busybox-static');
  return { path, bytes };
}

/**
 * Resolves module names to their files in load order (every dependency before its user), from
 * modules.dep. Modules built into the kernel (modules.builtin) are skipped.
 * @param {string} modulesDir
 * @param {readonly string[]} names
 * @returns {string[]} paths relative to modulesDir
 */
export function resolveModules(modulesDir, names) {
  const deps = new Map();
  const byName = new Map();
  const modName = (p) => basename(p).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
  for (const line of readFileSync(join(modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const file = line.slice(0, colon);
    deps.set(file, line.slice(colon + 1).trim().split(/\s+/).filter(Boolean));
    byName.set(modName(file), file);
  }
  const builtinFile = join(modulesDir, 'modules.builtin');
  const builtin = new Set(existsSync(builtinFile) ? readFileSync(builtinFile, 'utf8').split('\n').filter(Boolean).map(modName) : []);
  const order = [];
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const d of deps.get(file) ?? []) visit(d);
    order.push(file);
  };
  for (const name of names) {
    const file = byName.get(name);
    if (file) visit(file);
    else if (!builtin.has(name)) throw new GuestPrerequisiteError(`kernel module ${name} not found in ${modulesDir}/modules.dep`, 'linux-image-amd64');
  }
  return order;
}

/**
 * Returns a module's bytes uncompressed; xz and zstd go through their command-line tools.
 * @param {string} path
 * @returns {Buffer}
 */
function readModule(path) {
  if (path.endsWith('.ko')) return readFileSync(path);
  const tools = { '.xz': ['xz', 'xz-utils'], '.zst': ['zstd', 'zstd'], '.gz': ['gzip', 'gzip'] };
  const ext = Object.keys(tools).find((e) => path.endsWith(e));
  if (!ext) throw new Error(`unknown module compression: ${path}`);
  const [tool, pkg] = tools[ext];
  try {
    return execFileSync(tool, ['-dc', path], { maxBuffer: 64 << 20 });
  } catch (e) {
    if (e && e.code === 'ENOENT') throw new GuestPrerequisiteError(`${tool} is needed to decompress ${path}`, pkg);
    throw e;
  }
}

/**
 * Builds the initramfs, or reuses the cached one when every input is unchanged.
 * @param {{kernelVersion?: string, cacheDir?: string, force?: boolean}} [options]
 * @returns {{kernel: string, initramfs: string, kernelVersion: string, modules: string[], cacheDir: string, cached: boolean}}
 */
export function buildInitramfs(options = {}) {
  const { version, kernel, modulesDir } = findKernel(options.kernelVersion ?? process.env.VHOSTLAB_GUEST_KERNEL);
  const busybox = loadBusybox();
  const moduleFiles = resolveModules(modulesDir, GUEST_MODULES);
  const initScript = readFileSync(join(here, 'init.sh'));

  const hash = createHash('sha256');
  hash.update(`layout ${LAYOUT_VERSION}\nkernel ${version}\n`);
  hash.update(readFileSync(join(here, 'cpio.mjs')));
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  hash.update(initScript);
  hash.update(busybox.bytes);
  const modules = moduleFiles.map((rel) => {
    const bytes = readModule(join(modulesDir, rel));
    hash.update(rel);
    hash.update(bytes);
    return { name: basename(rel).replace(/\.(xz|zst|gz)$/, ''), bytes };
  });
  const key = `${version}-${hash.digest('hex').slice(0, 16)}`;
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const outDir = join(cacheDir, key);
  const initramfs = join(outDir, 'initramfs.cpio.gz');
  const info = { kernel, initramfs, kernelVersion: version, modules: modules.map((m) => m.name), cacheDir };
  if (!options.force && existsSync(initramfs)) return { ...info, cached: true };

  /** @type {import('./cpio.mjs').CpioEntry[]} */
  const entries = [
    ...['bin', 'dev', 'proc', 'sys', 'lib', 'lib/modules', 'tmp'].map((name) => ({ name, type: /** @type {const} */ ('dir') })),
    // The kernel opens /dev/console for init's stdio before /init can mount devtmpfs.
    { name: 'dev/console', type: 'charDevice', perm: 0o600, rdev: [5, 1] },
    { name: 'bin/busybox', type: 'file', data: busybox.bytes },
    { name: 'bin/sh', type: 'symlink', data: Buffer.from('busybox') },
    { name: 'init', type: 'file', data: initScript },
    ...modules.map((m) => ({ name: `lib/modules/${m.name}`, type: /** @type {const} */ ('file'), perm: 0o644, data: m.bytes })),
    { name: 'lib/modules/load-order', type: 'file', perm: 0o644, data: Buffer.from(modules.map((m) => m.name).join('\n') + '\n') },
  ];
  mkdirSync(outDir, { recursive: true });
  // Write then rename, so a concurrent build or an interrupted one never leaves a torn archive.
  const tmp = `${initramfs}.${process.pid}.tmp`;
  writeFileSync(tmp, gzipSync(writeCpio(entries)));
  renameSync(tmp, initramfs);
  writeFileSync(join(outDir, 'guest.json'), JSON.stringify(info, null, 2) + '\n');
  // Archives of earlier inputs for this kernel are dead weight once a new one exists.
  for (const old of readdirSync(cacheDir)) {
    if (old !== key && old.startsWith(`${version}-`) && /-[0-9a-f]{16}$/.test(old)) rmSync(join(cacheDir, old), { recursive: true, force: true });
  }
  return { ...info, cached: false };
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const args = process.argv.slice(2);
  const valueOf = (flag) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  try {
    const result = buildInitramfs({ kernelVersion: valueOf('--kernel'), cacheDir: valueOf('--cache'), force: args.includes('--force') });
    process.stdout.write(args.includes('--json') ? JSON.stringify(result) + '\n' : result.initramfs + '\n');
  } catch (e) {
    process.stderr.write(`build-initramfs: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(e instanceof GuestPrerequisiteError ? 2 : 1);
  }
}
