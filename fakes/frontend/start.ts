/**
 * The front-end's start sequence (CHECKLIST §2.3, the order QEMU uses): negotiate features and
 * protocol features, take ownership, hand over the memory table, then set up each ring (NUM,
 * BASE, ADDR, KICK, CALL, ENABLE). Stopping is GET_VRING_BASE per ring.
 * @module
 */
import {
  FrontendRequest, ProtocolFeature, VHOST_USER_F_PROTOCOL_FEATURES, hasFeature, memRegion, memoryTable,
} from '../wire/index.js';
import type { GuestMemory } from '../memory/index.js';
import type { FrontendSession } from './session.js';

/** What the front-end asks for; each value is intersected with what the back-end offers. */
export interface Negotiation {
  /** Virtio/vhost features wanted (bit 30 is added automatically when offered). */
  features: bigint;
  /** Protocol features wanted. */
  protocolFeatures: bigint;
  /**
   * false: behave as a front-end that predates bit 30 (VHOST_USER_F_PROTOCOL_FEATURES): no
   * GET/SET_PROTOCOL_FEATURES, bit 30 not acked, so rings are enabled at once (VU-FEAT-003).
   */
  protocolFeaturesBit?: boolean;
}

/** What was agreed and learnt during negotiation. */
export interface Negotiated {
  offeredFeatures: bigint;
  offeredProtocolFeatures: bigint;
  features: bigint;
  protocolFeatures: bigint;
  /** GET_QUEUE_NUM's answer, when MQ was offered. */
  queueNum?: bigint;
  /** GET_MAX_MEM_SLOTS's answer, when CONFIGURE_MEM_SLOTS was offered. */
  maxMemSlots?: bigint;
}

/** Runs the negotiation half of §2.3: features, protocol features, queue number, slots, owner. */
export async function negotiate(session: FrontendSession, want: Negotiation): Promise<Negotiated> {
  const offeredFeatures = await session.getFeatures();
  const pf30 = 1n << BigInt(VHOST_USER_F_PROTOCOL_FEATURES);
  let offeredProtocolFeatures = 0n;
  let protocolFeatures = 0n;
  const out: Negotiated = { offeredFeatures, offeredProtocolFeatures, features: 0n, protocolFeatures };
  const usePf30 = want.protocolFeaturesBit ?? true;
  if (usePf30 && (offeredFeatures & pf30)) {
    offeredProtocolFeatures = await session.getProtocolFeatures();
    protocolFeatures = offeredProtocolFeatures & want.protocolFeatures;
    await session.setProtocolFeatures(protocolFeatures);
    out.offeredProtocolFeatures = offeredProtocolFeatures;
    out.protocolFeatures = protocolFeatures;
    if (hasFeature(protocolFeatures, ProtocolFeature.MQ)) out.queueNum = await session.getQueueNum();
    if (hasFeature(protocolFeatures, ProtocolFeature.CONFIGURE_MEM_SLOTS)) out.maxMemSlots = await session.getMaxMemSlots();
  }
  await session.setOwner();
  out.features = offeredFeatures & (want.features | (usePf30 ? pf30 : 0n));
  await session.setFeatures(out.features);
  return out;
}

/**
 * Hands guest memory to the back-end: one SET_MEM_TABLE, or one ADD_MEM_REG per region when
 * CONFIGURE_MEM_SLOTS is in force (as QEMU does). Every region must be memfd-backed.
 */
export async function sendMemoryTable(session: FrontendSession, memory: GuestMemory): Promise<void> {
  const regions = memory.regions.map((r) => {
    if (r.fd === undefined) throw new TypeError(`region at GPA 0x${r.guestPhysAddr.toString(16)} has no fd to send`);
    return {
      guestPhysAddr: BigInt(r.guestPhysAddr), memorySize: BigInt(r.size),
      userspaceAddr: BigInt(r.userAddr), mmapOffset: BigInt(r.mmapOffset), fd: r.fd,
    };
  });
  if (hasFeature(session.protocolFeatures, ProtocolFeature.CONFIGURE_MEM_SLOTS)) {
    for (const { fd, ...region } of regions) {
      await session.command(FrontendRequest.ADD_MEM_REG, memRegion.encode({ region }), [fd]);
    }
    return;
  }
  const body = memoryTable.encode({ regions: regions.map(({ fd: _fd, ...region }) => region) });
  await session.command(FrontendRequest.SET_MEM_TABLE, body, regions.map((r) => r.fd));
}

/** Where one ring lives (GPAs) and how it is signalled. */
export interface RingSetup {
  index: number;
  size: number;
  descAddr: number;
  availAddr: number;
  usedAddr: number;
  /** SET_VRING_BASE value (default 0). */
  base?: number;
  /** Kick eventfd; undefined sends the no-fd flag (the back-end polls). */
  kickFd?: number;
  /** Call eventfd; undefined sends the no-fd flag (the front-end polls). */
  callFd?: number;
  /** Send SET_VRING_ENABLE 1 (only meaningful with bit 30 negotiated; default true). */
  enable?: boolean;
}

/** Sets up and starts one ring: NUM, BASE, ADDR (as user addresses), KICK, CALL, ENABLE. */
export async function startRing(session: FrontendSession, memory: GuestMemory, ring: RingSetup): Promise<void> {
  await session.setVringNum(ring.index, ring.size);
  await session.setVringBase(ring.index, ring.base ?? 0);
  await session.setVringAddr({
    index: ring.index, flags: 0,
    descAddr: BigInt(memory.gpaToUser(ring.descAddr)),
    usedAddr: BigInt(memory.gpaToUser(ring.usedAddr)),
    availAddr: BigInt(memory.gpaToUser(ring.availAddr)),
    logGuestAddr: BigInt(ring.usedAddr),
  });
  await session.setVringFd(FrontendRequest.SET_VRING_KICK, ring.index, ring.kickFd);
  await session.setVringFd(FrontendRequest.SET_VRING_CALL, ring.index, ring.callFd);
  const pf30 = 1n << BigInt(VHOST_USER_F_PROTOCOL_FEATURES);
  if ((ring.enable ?? true) && (session.features & pf30)) await session.setVringEnable(ring.index, true);
}
