/**
 * Back-end state migration: SET_DEVICE_STATE_FD and CHECK_DEVICE_STATE (vhost-user.rst
 * "Migrating back-end state"; CHECKLIST VU-MIG-010..014).
 *
 * Saving writes the whole stream (device-state-stream.ts) into the front-end's fd at once and
 * closes it: it is a few dozen bytes, so it fits any pipe, and the fd is made non-blocking first
 * so a full pipe refuses the transfer instead of hanging the back-end. Loading keeps the fd and
 * reads it at CHECK_DEVICE_STATE, by which time the front-end has written the stream and closed
 * its end (the spec's order); an unfinished stream is a failed check, never a wait. The reply's
 * bit 8 is always set: this back-end never offers an fd of its own (VU-MIG-014).
 * @module
 */
import { readSync, writeSync } from 'node:fs';
import { setNonBlocking } from '../../../native/index.js';
import { payloads, u64 } from '../../wire/index.js';
import { MAX_STREAM, decodeDeviceState, encodeDeviceState } from '../device-state-stream.js';
import { fail, reply } from '../result.js';
import { closeQuietly, type SessionState } from '../session-state.js';
import type { Handler } from './context.js';

// Bit 8 always: no fd comes with the reply; the front-end's own fd carries the stream.
const NO_FD = payloads.encodeDeviceStateReply({ error: 0, noFd: true });
// A refusal: error code 1, and never an fd.
const REFUSED = payloads.encodeDeviceStateReply({ error: 1, noFd: true });

/** SET_DEVICE_STATE_FD: only on a suspended device (every ring stopped, VU-MIG-013). */
export const setDeviceStateFd: Handler<payloads.DeviceState> = (p, { state, device, fds }) => {
  const running = state.rings.filter((r) => r.started).map((r) => r.index);
  if (running.length > 0) {
    return fail(`SET_DEVICE_STATE_FD while ring(s) ${running.join(', ')} run: the device is not suspended (GET_VRING_BASE first)`, {
      rule: 'VU-MIG-013', errorBody: u64.encode(REFUSED),
    });
  }
  endTransfer(state);
  const fd = fds.take(0);
  if (p.direction === payloads.TransferDirection.LOAD) {
    state.deviceState = { direction: 'load', fd, error: undefined };
    state.event('device-state', { detail: 'load: stream read at CHECK_DEVICE_STATE' });
    return reply(u64.encode(NO_FD));
  }
  const stream = encodeDeviceState({ features: state.features, blob: device.saveState?.() ?? new Uint8Array(0) });
  let error: string | undefined;
  try {
    setNonBlocking(fd, true);
    const n = writeSync(fd, stream);
    if (n !== stream.length) error = `only ${n} of ${stream.length} bytes fitted into the fd`;
  } catch (e) {
    error = `writing the state failed: ${(e as Error).message}`;
  } finally {
    closeQuietly(fd);
  }
  state.deviceState = { direction: 'save', fd: undefined, error };
  if (error !== undefined) return fail(`SET_DEVICE_STATE_FD (save): ${error}`, { rule: 'VU-MIG-010', errorBody: u64.encode(REFUSED) });
  state.event('device-state', { detail: `save: ${stream.length} bytes written` });
  return reply(u64.encode(NO_FD));
};

/** CHECK_DEVICE_STATE: 0 when the last transfer succeeded (a load is read, verified and applied here). */
export const checkDeviceState: Handler<undefined> = (_p, { state, device }) => {
  const t = state.deviceState;
  state.deviceState = undefined;
  let error: string | undefined;
  if (t === undefined) error = 'no state transfer to check';
  else if (t.direction === 'save') error = t.error;
  else {
    const read = readToEnd(t.fd!);
    closeQuietly(t.fd);
    if (typeof read === 'string') error = read;
    else {
      const image = decodeDeviceState(read);
      if (typeof image === 'string') error = image;
      else if ((image.features & ~state.offeredFeatures) !== 0n) error = `state saved with features 0x${image.features.toString(16)}, beyond this back-end's offer`;
      else if (device.loadState !== undefined) error = device.loadState(image.blob);
      else if (image.blob.length > 0) error = `this device keeps no state, the stream carries ${image.blob.length} bytes`;
    }
  }
  if (error !== undefined) {
    state.event('device-state-refused', { detail: error, rule: 'VU-MIG-012' });
    return reply(u64.encode(1n));
  }
  state.event('device-state', { detail: `${t!.direction}: checked` });
  return reply(u64.encode(0n));
};

/** Closes the fd of a transfer that was never checked. */
export function endTransfer(state: SessionState): void {
  closeQuietly(state.deviceState?.fd);
  state.deviceState = undefined;
}

// The whole stream, or why it cannot be had: still open for writing (EAGAIN), too long, unreadable.
function readToEnd(fd: number): Uint8Array | string {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    setNonBlocking(fd, true);
    for (;;) {
      const buf = Buffer.alloc(16 * 1024);
      const n = readSync(fd, buf);
      if (n === 0) break;
      total += n;
      if (total > MAX_STREAM) return `stream longer than ${MAX_STREAM} bytes`;
      chunks.push(buf.subarray(0, n));
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') return `the stream is unfinished: ${total} bytes read and the writer has not closed its end`;
    return `reading the stream failed: ${(e as Error).message}`;
  }
  return Buffer.concat(chunks);
}
