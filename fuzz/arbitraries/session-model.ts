/**
 * The session model of the protocol fuzzer (STYLE §30): what a front-end knows about one
 * connection — the back-end's offer (probed once per run), what was negotiated, the memory table,
 * each ring's set-up — enough to decide each request's precondition (its gate in the request
 * table) and whether a reply is owed. Once a malformed or unacceptable message went out the model
 * is *tainted*: the back-end may legitimately be out of step, so replies are no longer predicted.
 * @module
 */
import { HeaderFlag } from '../../fakes/wire/header.js';
import { ProtocolFeature, VHOST_USER_F_PROTOCOL_FEATURES, hasFeature, type DeviceType } from '../../fakes/wire/features.js';
import type { MemoryRegion } from '../../fakes/wire/payloads/mem-region.js';
import type { RequestSpec } from '../../fakes/wire/requests.js';
import type { ReplyExpectation } from './step.js';

/** What the back-end offered, learnt once by a probe. */
export interface PeerOffer {
  readonly deviceType: DeviceType;
  readonly features: bigint;
  readonly protocolFeatures: bigint;
  /** Rings the session may address (net: 2 × queue pairs), at least 1. */
  readonly rings: number;
}

/** One ring as the front-end set it up. */
export interface RingModel {
  num?: number;
  base?: number;
  addr: boolean;
  kick: boolean;
  call: boolean;
  enabled: boolean;
}

/** The model of one connection. */
export interface SessionModel {
  readonly offer: PeerOffer;
  /** Virtio features acked by SET_FEATURES (undefined before). */
  features: bigint | undefined;
  /** Protocol features acked by SET_PROTOCOL_FEATURES. */
  protocolFeatures: bigint;
  owner: boolean;
  /** The memory table in force (SET_MEM_TABLE, or the regions added one by one). */
  layout: MemoryRegion[];
  rings: RingModel[];
  /** A malformed or unacceptable message went out: replies are no longer predicted. */
  tainted: boolean;
  /** The connection is gone (cut on purpose or closed by the back-end). */
  closed: boolean;
  /**
   * A header's size lied within the payload limit: the back-end may legitimately be waiting for
   * body bytes, so the framing of everything after it is unknown.
   */
  desynced: boolean;
  /** Messages sent. */
  sent: number;
}

/** A fresh connection's model. */
export function initialModel(offer: PeerOffer): SessionModel {
  return {
    offer, features: undefined, protocolFeatures: 0n, owner: false, layout: [],
    rings: Array.from({ length: Math.max(1, offer.rings) }, () => ({ addr: false, kick: false, call: false, enabled: false })),
    tainted: false, closed: false, desynced: false, sent: 0,
  };
}

const PF30 = VHOST_USER_F_PROTOCOL_FEATURES;

/**
 * The protocol precondition of `spec` (its gate in the request table): every required feature
 * negotiated or offered as the gate says, the device type right, excluded features absent.
 */
export function gateHolds(m: SessionModel, spec: RequestSpec): boolean {
  const g = spec.gate;
  if (g.protocolFeaturesBit === 'PF30') {
    const word = g.stage === 'negotiated' ? (m.features ?? 0n) : m.offer.features;
    if (!hasFeature(word, PF30)) return false;
  }
  if (g.protocolFeature !== undefined && !hasFeature(m.protocolFeatures, ProtocolFeature[g.protocolFeature])) return false;
  if (g.excludesProtocolFeature !== undefined && hasFeature(m.protocolFeatures, ProtocolFeature[g.excludesProtocolFeature])) return false;
  if (g.feature !== undefined && !hasFeature(m.features ?? 0n, g.feature)) return false;
  if (g.deviceType !== undefined && g.deviceType !== m.offer.deviceType) return false;
  return true;
}

/**
 * Whether the back-end owes a reply to `spec` sent with NEED_REPLY = `needReply` (CHECKLIST §1.3).
 * A mutated message, or any message on a tainted session, is `maybe`; so is SET_PROTOCOL_FEATURES
 * with NEED_REPLY before REPLY_ACK is in force, whose ack is unstated by the spec (D6).
 */
export function replyExpectation(m: SessionModel, spec: RequestSpec, needReply: boolean, mutated: boolean): ReplyExpectation {
  if (mutated || m.tainted) return 'maybe';
  const replyAck = hasFeature(m.protocolFeatures, ProtocolFeature.REPLY_ACK);
  // D6: whether the message that switches REPLY_ACK on is itself acked is unstated.
  if (spec.name === 'SET_PROTOCOL_FEATURES' && needReply && !replyAck) return 'maybe';
  switch (spec.reply) {
    case 'always':
      return 'expect';
    case 'ackOrAlways':
      if (spec.alwaysReplyWhen !== undefined && hasFeature(m.protocolFeatures, ProtocolFeature[spec.alwaysReplyWhen])) return 'expect';
      return needReply && replyAck ? 'expect' : 'none';
    case 'ack':
      return needReply && replyAck ? 'expect' : 'none';
  }
}

/** The flags word of a request with NEED_REPLY = `needReply`. */
export const flagsFor = (needReply: boolean): number => HeaderFlag.VERSION | (needReply ? HeaderFlag.NEED_REPLY : 0);
