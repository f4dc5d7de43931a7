/**
 * Device state transfer parameters of SET_DEVICE_STATE_FD (CHECKLIST §3.13), 8 bytes:
 * `0/4 direction` (0 save, 1 load), `4/4 phase` (0 stopped). The reply is a u64 whose bits 0–7
 * are an error code and bit 8 says "no fd returned"; helpers below split and build it.
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from '../byte-order.js';
import { type PayloadCodec, describeValue, expectSize, firstReason, uintReason } from './codec.js';

/** `direction` values. */
export const TransferDirection = { SAVE: 0, LOAD: 1 } as const;
/** `phase` values. */
export const TransferPhase = { STOPPED: 0 } as const;

/** Transfer parameters. */
export interface DeviceState {
  /** See {@link TransferDirection}. */
  readonly direction: number;
  /** See {@link TransferPhase}. */
  readonly phase: number;
}

/** Body size in bytes. */
export const SIZE = 8;

/** Decodes the 8-byte body. */
export function decode(bytes: Uint8Array): DeviceState {
  expectSize('device-state', bytes, SIZE);
  const v = viewOf(bytes);
  return { direction: v.getUint32(0, HOST_LITTLE_ENDIAN), phase: v.getUint32(4, HOST_LITTLE_ENDIAN) };
}

/** Encodes `value`. */
export function encode(value: DeviceState): Uint8Array {
  const out = new Uint8Array(SIZE);
  const v = viewOf(out);
  v.setUint32(0, value.direction >>> 0, HOST_LITTLE_ENDIAN);
  v.setUint32(4, value.phase >>> 0, HOST_LITTLE_ENDIAN);
  return out;
}

/** Reason when a field is out of range or direction/phase is undefined. */
export const validate = (value: DeviceState): string | undefined =>
  firstReason(
    uintReason('direction', value.direction, 32),
    uintReason('phase', value.phase, 32),
    value.direction > TransferDirection.LOAD ? `undefined direction ${value.direction}` : undefined,
    value.phase !== TransferPhase.STOPPED ? `undefined phase ${value.phase}` : undefined,
  );

/** The device-state codec. */
export const codec: PayloadCodec<DeviceState> = {
  family: 'device-state', minSize: SIZE, maxSize: SIZE, decode, encode, validate, describe: describeValue,
};

/** Reply bit 8: no fd is returned. */
export const DEVICE_STATE_REPLY_NOFD = 0x100;

/** A decoded SET_DEVICE_STATE_FD reply. */
export interface DeviceStateReply {
  /** Bits 0–7: 0 = success. */
  readonly error: number;
  /** Bit 8: no fd returned. */
  readonly noFd: boolean;
  /** Bits 9–63, unspecified. */
  readonly upper: bigint;
}

/** Splits the reply u64. */
export const decodeDeviceStateReply = (value: bigint): DeviceStateReply => ({
  error: Number(value & 0xffn),
  noFd: (value & BigInt(DEVICE_STATE_REPLY_NOFD)) !== 0n,
  upper: value & ~0x1ffn & ((1n << 64n) - 1n),
});

/** Builds the reply u64. */
export const encodeDeviceStateReply = (r: { error: number; noFd: boolean }): bigint =>
  BigInt(r.error & 0xff) | (r.noFd ? BigInt(DEVICE_STATE_REPLY_NOFD) : 0n);
