/**
 * The device config payload of GET_CONFIG / SET_CONFIG (CHECKLIST §3.9): `0/4 offset`,
 * `4/4 size`, `8/4 flags`, then `size` bytes. QEMU and DPDK cap the data at 256 bytes
 * (`VHOST_USER_MAX_CONFIG_SIZE`). The `size` field is kept as sent, even when it disagrees with
 * the bytes that follow: {@link validate} reports that, so a strict peer can refuse it.
 * GET_CONFIG's reply signals an error with an empty body ({@link replyCodec}).
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from '../byte-order.js';
import { MalformedMessageError } from '../errors.js';
import { type PayloadCodec, expectSizeRange, firstReason, uintReason } from './codec.js';

/** Bytes before the config data. */
export const CONFIG_HEADER_SIZE = 12;
/** Largest config data (`VHOST_USER_MAX_CONFIG_SIZE`). */
export const MAX_CONFIG_SIZE = 256;
/** Smallest body. */
export const MIN_SIZE = CONFIG_HEADER_SIZE;
/** Largest body. */
export const MAX_SIZE = CONFIG_HEADER_SIZE + MAX_CONFIG_SIZE;

/** `flags` values. */
export const ConfigFlag = {
  /** Normal access to writable fields. */
  WRITABLE: 0,
  /** Live-migration write: read-only fields may be written too. */
  MIGRATION: 1,
} as const;

/** A config-space access. */
export interface Config {
  /** Offset in the device config space. */
  readonly offset: number;
  /** The `size` field as sent (should equal `data.length`). */
  readonly size: number;
  /** See {@link ConfigFlag}. */
  readonly flags: number;
  /** The config bytes that follow the 12-byte header. */
  readonly data: Uint8Array;
}

/** Decodes a body of 12..268 bytes (the data is copied out). */
export function decode(bytes: Uint8Array): Config {
  expectSizeRange('config', bytes, MIN_SIZE, MAX_SIZE);
  const v = viewOf(bytes);
  return {
    offset: v.getUint32(0, HOST_LITTLE_ENDIAN),
    size: v.getUint32(4, HOST_LITTLE_ENDIAN),
    flags: v.getUint32(8, HOST_LITTLE_ENDIAN),
    data: bytes.slice(CONFIG_HEADER_SIZE),
  };
}

/** Encodes `value`: header fields as given, then all of `data`. */
export function encode(value: Config): Uint8Array {
  const out = new Uint8Array(CONFIG_HEADER_SIZE + value.data.byteLength);
  const v = viewOf(out);
  v.setUint32(0, value.offset >>> 0, HOST_LITTLE_ENDIAN);
  v.setUint32(4, value.size >>> 0, HOST_LITTLE_ENDIAN);
  v.setUint32(8, value.flags >>> 0, HOST_LITTLE_ENDIAN);
  out.set(value.data, CONFIG_HEADER_SIZE);
  return out;
}

/** A config value whose `size` matches `data` (the usual way to build one). */
export const makeConfig = (offset: number, data: Uint8Array, flags: number = ConfigFlag.WRITABLE): Config => ({
  offset, size: data.byteLength, flags, data,
});

/** Reason when fields are out of range, `size` disagrees with the data, data > 256 or flags undefined. */
export const validate = (value: Config): string | undefined =>
  firstReason(
    uintReason('offset', value.offset, 32),
    uintReason('size', value.size, 32),
    uintReason('flags', value.flags, 32),
    value.data instanceof Uint8Array ? undefined : 'data must be a Uint8Array',
    value.data?.byteLength > MAX_CONFIG_SIZE ? `data length ${value.data.byteLength} exceeds ${MAX_CONFIG_SIZE}` : undefined,
    value.size !== value.data?.byteLength ? `size field ${value.size} != data length ${value.data?.byteLength}` : undefined,
    value.flags !== ConfigFlag.WRITABLE && value.flags !== ConfigFlag.MIGRATION ? `undefined flags ${value.flags}` : undefined,
  );

const describe = (c: Config): string => `{offset:${c.offset},size:${c.size},flags:${c.flags},data:<${c.data.byteLength} bytes>}`;

/** The config codec. */
export const codec: PayloadCodec<Config> = {
  family: 'config', minSize: MIN_SIZE, maxSize: MAX_SIZE, decode, encode, validate, describe,
};

/** GET_CONFIG's reply: a config, or `undefined` for the empty-body error form. */
export type ConfigReply = Config | undefined;

/** The GET_CONFIG reply codec: 0 bytes → undefined (error); otherwise as {@link codec}. */
export const replyCodec: PayloadCodec<ConfigReply> = {
  family: 'config-reply',
  minSize: 0,
  maxSize: MAX_SIZE,
  decode(bytes) {
    if (bytes.byteLength === 0) return undefined;
    if (bytes.byteLength < MIN_SIZE) {
      throw new MalformedMessageError(`config-reply: expected 0 or ${MIN_SIZE}..${MAX_SIZE} bytes, got ${bytes.byteLength}`, { raw: bytes });
    }
    return decode(bytes);
  },
  encode: (value) => (value === undefined ? new Uint8Array(0) : encode(value)),
  validate: (value) => (value === undefined ? undefined : validate(value)),
  describe: (value) => (value === undefined ? '<error: empty>' : describe(value)),
};
