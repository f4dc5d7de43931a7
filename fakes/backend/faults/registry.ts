/**
 * The fault registry: every fault of the reference back-end by name, what it breaks and which
 * conformance cases should catch it (`vhostlab backend --fault NAME`, `--list-faults`).
 * @module
 */
import { composeHooks, type BackendHooks } from '../hooks.js';
import { ackRefusedConfig } from './ack-refused-config.js';
import { ackUnofferedFeatures } from './ack-unoffered-features.js';
import { chattyBackendChannel } from './chatty-backend-channel.js';
import { crashOnUnknownRegion } from './crash-on-unknown-region.js';
import { deviceStateUnchecked } from './device-state-unchecked.js';
import { doubleUsed } from './double-used.js';
import { dropReplyAck } from './drop-reply-ack.js';
import { PROCESS_ENV, type FaultDefinition, type FaultEnv } from './fault.js';
import { hangOnOversize } from './hang-on-oversize.js';
import { ignoreDisable } from './ignore-disable.js';
import { ignoreInflight } from './ignore-inflight.js';
import { inbandUnserviced } from './inband-unserviced.js';
import { indirectUnserviced } from './indirect-unserviced.js';
import { packedChainTailUnchecked } from './packed-chain-tail-unchecked.js';
import { packedUsedKeepsDriverFlags } from './packed-used-keeps-driver-flags.js';
import { leakFds } from './leak-fds.js';
import { logAllOnlyAtStart } from './log-all-only-at-start.js';
import { logAssignsBytes } from './log-assigns-bytes.js';
import { logFlagOnlyAtStart } from './log-flag-only-at-start.js';
import { logWritesPastEnd } from './log-writes-past-end.js';
import { loseRingStateOnReconnect } from './lose-ring-state-on-reconnect.js';
import { nackEverything } from './nack-everything.js';
import { noReconnect } from './no-reconnect.js';
import { processAfterStop } from './process-after-stop.js';
import { sharedObjectAnyUuid } from './shared-object-any-uuid.js';
import { sharedObjectExportUnnegotiated } from './shared-object-export-unnegotiated.js';
import { shmemAtBit21 } from './shmem-at-bit-21.js';
import { staleMemoryTable } from './stale-memory-table.js';
import { vringEndianAnyValue } from './vring-endian-any-value.js';
import { vringEndianIgnored } from './vring-endian-ignored.js';
import { writeAfterReturn } from './write-after-return.js';
import { writeReadable } from './write-readable.js';
import { wrongReplyFlags } from './wrong-reply-flags.js';
import { wrongRingBase } from './wrong-ring-base.js';

/** Every fault, in listing order (control plane first, then data path, then sessions). */
export const FAULTS: readonly FaultDefinition[] = [
  ackUnofferedFeatures, ackRefusedConfig, shmemAtBit21, sharedObjectAnyUuid, dropReplyAck, nackEverything, wrongReplyFlags, hangOnOversize, leakFds,
  wrongRingBase, vringEndianAnyValue, vringEndianIgnored, processAfterStop, ignoreDisable, staleMemoryTable, loseRingStateOnReconnect,
  logAllOnlyAtStart, logFlagOnlyAtStart, logAssignsBytes, logWritesPastEnd, deviceStateUnchecked,
  chattyBackendChannel, sharedObjectExportUnnegotiated, ignoreInflight, doubleUsed, writeReadable, writeAfterReturn, indirectUnserviced, packedChainTailUnchecked, packedUsedKeepsDriverFlags, inbandUnserviced, crashOnUnknownRegion, noReconnect,
];

/** A fault name that does not exist. */
export class UnknownFaultError extends Error {
  override readonly name = 'UnknownFaultError';
  /** Stable error code. */
  readonly code = 'VHU_ERR_UNKNOWN_FAULT';
  constructor(readonly fault: string) {
    super(`unknown fault '${fault}' (have: ${FAULTS.map((f) => f.name).join(', ')})`);
  }
}

/** The fault called `name`, or undefined. */
export function findFault(name: string): FaultDefinition | undefined {
  return FAULTS.find((f) => f.name === name);
}

/** Hooks for the named faults, composed in the order given. Throws {@link UnknownFaultError}. */
export function faultHooks(names: readonly string[], env: FaultEnv = PROCESS_ENV): BackendHooks {
  const defs = names.map((n) => findFault(n) ?? (() => {
    throw new UnknownFaultError(n);
  })());
  return composeHooks(...defs.map((d) => d.create(env)));
}

/** The listing `--list-faults` prints: one line per fault, requirement ids included. */
export function formatFaultList(): string {
  const w = Math.max(...FAULTS.map((f) => f.name.length));
  return FAULTS.map((f) => `${f.name.padEnd(w)}  ${f.violates.join(',').padEnd(36)}  ${f.summary}`).join('\n');
}
