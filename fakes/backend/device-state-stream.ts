/**
 * The reference back-end's migration stream (vhost-user.rst "Migrating back-end state": the
 * format is the back-end's own; the front-end only carries it). Everything a device keeps outside
 * the rings, which the front-end cannot restore with ring messages, with a digest so that a
 * corrupted or truncated stream is refused by CHECK_DEVICE_STATE instead of loaded (VU-MIG-012).
 *
 * Layout (little-endian):
 *   0/4  magic "VLDS"          4/2  version (1)          6/2  device blob length N
 *   8/8  virtio features acked when saved
 *  16/N  device blob (Device.saveState)
 *  16+N/32  SHA-256 of bytes [0, 16+N)
 * @module
 */
import { createHash } from 'node:crypto';

const MAGIC = 0x53444c56; // "VLDS" read as a little-endian u32
const VERSION = 1;
const HEADER = 16;
const DIGEST = 32;
/** Longest stream accepted on load (a device blob is a few bytes; this bounds a hostile one). */
export const MAX_STREAM = 1 << 20;

/** What a stream carries. */
export interface DeviceStateImage {
  /** Virtio features acked when the state was saved. */
  readonly features: bigint;
  /** The device's own state. */
  readonly blob: Uint8Array;
}

const digest = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

/** Encodes `image` as a stream. */
export function encodeDeviceState(image: DeviceStateImage): Uint8Array {
  if (image.blob.length > 0xffff) throw new RangeError(`device blob of ${image.blob.length} bytes exceeds 65535`);
  const out = new Uint8Array(HEADER + image.blob.length + DIGEST);
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint16(4, VERSION, true);
  v.setUint16(6, image.blob.length, true);
  v.setBigUint64(8, image.features, true);
  out.set(image.blob, HEADER);
  out.set(digest(out.subarray(0, HEADER + image.blob.length)), HEADER + image.blob.length);
  return out;
}

/** Decodes a stream, or returns why it is not one (wrong magic, version, length or digest). */
export function decodeDeviceState(bytes: Uint8Array): DeviceStateImage | string {
  if (bytes.length < HEADER + DIGEST) return `stream of ${bytes.length} bytes is shorter than the ${HEADER + DIGEST}-byte minimum`;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== MAGIC) return 'not a vhostlab device-state stream (bad magic)';
  const version = v.getUint16(4, true);
  if (version !== VERSION) return `stream version ${version}, this back-end reads ${VERSION}`;
  const n = v.getUint16(6, true);
  if (bytes.length !== HEADER + n + DIGEST) return `stream of ${bytes.length} bytes, its header says ${HEADER + n + DIGEST}`;
  if (!digest(bytes.subarray(0, HEADER + n)).equals(bytes.subarray(HEADER + n))) return 'stream digest mismatch: corrupted in transit';
  return { features: v.getBigUint64(8, true), blob: bytes.slice(HEADER, HEADER + n) };
}
