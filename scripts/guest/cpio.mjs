// Writes a cpio archive in the "newc" format, the one the Linux kernel unpacks as an initramfs
// (Documentation/driver-api/early-userspace/buffer-format.rst). Written here rather than by
// running cpio(1) so the archive can hold a /dev/console device node without root, and so the
// bytes are reproducible (fixed inode numbers, mtime 0).

/** Kinds of archive entry and their file-type bits (stat.h S_IF*). */
export const CpioType = /** @type {const} */ ({
  dir: 0o040000,
  file: 0o100000,
  symlink: 0o120000,
  charDevice: 0o020000,
});

/**
 * One archive entry.
 * @typedef {object} CpioEntry
 * @property {string} name path inside the archive, without a leading slash
 * @property {keyof typeof CpioType} type
 * @property {number} [perm] permission bits; defaults to 0o755 (dir, file) or 0o777 (symlink)
 * @property {Buffer} [data] file contents, or the link target of a symlink
 * @property {[number, number]} [rdev] major and minor number of a device node
 */

const MAGIC = '070701';
const TRAILER = 'TRAILER!!!';

const hex8 = (n) => n.toString(16).padStart(8, '0');
const pad4 = (n) => (4 - (n % 4)) % 4;

/**
 * Serialises entries (parents before children) into one newc archive, trailer included.
 * @param {CpioEntry[]} entries
 * @returns {Buffer}
 */
export function writeCpio(entries) {
  const chunks = [];
  let offset = 0;
  const push = (buf) => {
    chunks.push(buf);
    offset += buf.length;
  };
  const record = (ino, mode, data, rdev, name) => {
    const nameBytes = Buffer.from(`${name}\0`, 'utf8');
    const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0];
    push(Buffer.from(MAGIC + fields.map(hex8).join(''), 'ascii'));
    push(nameBytes);
    push(Buffer.alloc(pad4(offset)));
    push(data);
    push(Buffer.alloc(pad4(offset)));
  };
  entries.forEach((e, i) => {
    const typeBits = CpioType[e.type];
    if (typeBits === undefined) throw new Error(`cpio: unknown entry type ${String(e.type)} for ${e.name}`);
    const perm = e.perm ?? (e.type === 'symlink' ? 0o777 : 0o755);
    const data = e.type === 'dir' || e.type === 'charDevice' ? Buffer.alloc(0) : (e.data ?? Buffer.alloc(0));
    record(i + 1, typeBits | perm, data, e.rdev ?? [0, 0], e.name.replace(/^\/+/, ''));
  });
  record(0, 0, Buffer.alloc(0), [0, 0], TRAILER);
  return Buffer.concat(chunks);
}
