/**
 * Byte order of vhost-user messages. The header and every payload are in the *host's* native
 * byte order (vhost-user.rst "Message Specification"), unlike virtio rings, which are
 * little-endian with VERSION_1. We detect the host order once instead of hard-coding
 * little-endian, so the codecs stay correct should the suite ever run on a big-endian host.
 * @module
 */

/** True when this host is little-endian (x86-64, arm64 Linux): the DataView flag every codec passes. */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A DataView over exactly the given bytes (no copy): codecs read and write through it. */
export const viewOf = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** `v` (a u16) with its two bytes swapped: a big-endian ring field read little-endian, or back. */
export const swap16 = (v: number): number => ((v & 0xff) << 8) | ((v >>> 8) & 0xff);

/** `v` (a u32) with its four bytes reversed. */
export const swap32 = (v: number): number => (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
