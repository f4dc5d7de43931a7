/**
 * The front-end half of vhost-user IOMMU support (vhost-user.rst "IOMMU support"; CHECKLIST
 * §3.8, VU-IOTLB-*): with VIRTIO_F_ACCESS_PLATFORM every ring and buffer address is an IOVA the
 * back-end translates through entries the front-end sends with IOTLB_MSG; a missing entry makes
 * the back-end send BACKEND_IOTLB_MSG type MISS on the back-end channel and wait for an update.
 * The rig maps IOVA = GPA, so an entry `{iova: gpa, uaddr: qva}` is what QEMU sends for RAM.
 * @module
 */
import type { AckOutcome } from './ring-outcome.js';
import { sendForAck } from './ring-outcome.js';
import type { RigOptions, RingRig } from './ring-rig.js';
import type { BackendChannel } from './backend-channel.js';
import {
  BackendRequest, FrontendRequest, IotlbPerm, IotlbType, ProtocolFeature, VirtioFeature, featureMask, payloads, type Iotlb,
} from '../../fakes/wire/index.js';

/** A rig whose rings are translated through the IOTLB: ACCESS_PLATFORM, BACKEND_REQ, REPLY_ACK. */
export const IOMMU_RIG: RigOptions = Object.freeze({
  iommu: true,
  features: featureMask(VirtioFeature.ACCESS_PLATFORM),
  protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK, ProtocolFeature.BACKEND_REQ),
});

/** The needs of a case that drives the IOTLB. */
export const IOMMU_NEEDS = Object.freeze({
  features: [VirtioFeature.ACCESS_PLATFORM],
  protocolFeatures: [ProtocolFeature.REPLY_ACK, ProtocolFeature.BACKEND_REQ],
});

/** Sends one IOTLB_MSG with NEED_REPLY and classifies the answer. */
export function sendIotlb(rig: RingRig, msg: Iotlb): Promise<AckOutcome> {
  return sendForAck(rig.session, FrontendRequest.IOTLB_MSG, payloads.iotlb.encode(msg));
}

/** An UPDATE mapping `[gpa, gpa + size)` of guest RAM at IOVA = GPA with `perm`. */
export function ramUpdate(rig: RingRig, gpa: number, size: number, perm: number = IotlbPerm.RW): Iotlb {
  return { type: IotlbType.UPDATE, iova: BigInt(gpa), size: BigInt(size), uaddr: BigInt(rig.memory.gpaToUser(gpa)), perm };
}

/** An INVALIDATE of `[iova, iova + size)`. */
export const invalidate = (iova: number, size: number): Iotlb => ({ type: IotlbType.INVALIDATE, iova: BigInt(iova), size: BigInt(size), uaddr: 0n, perm: 0 });

/** UPDATEs covering every guest RAM region, read-write. */
export const wholeRam = (rig: RingRig): Iotlb[] => rig.memory.regions.map((r) => ramUpdate(rig, r.guestPhysAddr, r.size));

/** Decodes back-end channel messages into IOTLB messages; other requests are returned apart. */
export function splitIotlb(messages: readonly { request: number; body: Uint8Array }[]): { iotlb: Iotlb[]; other: number[] } {
  const iotlb: Iotlb[] = [];
  const other: number[] = [];
  for (const m of messages) {
    if (m.request === BackendRequest.BACKEND_IOTLB_MSG && m.body.byteLength === payloads.iotlb.SIZE) iotlb.push(payloads.iotlb.decode(m.body));
    else other.push(m.request);
  }
  return { iotlb, other };
}

/** Waits up to `timeoutMs` for the back-end's first IOTLB miss; returns every IOTLB message seen by then. */
export async function awaitMiss(channel: BackendChannel, timeoutMs: number): Promise<Iotlb[]> {
  const seen: Iotlb[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = await channel.next(deadline - Date.now());
    if (m === undefined) break;
    const { iotlb } = splitIotlb([m]);
    seen.push(...iotlb);
    if (iotlb.some((t) => t.type === IotlbType.MISS)) break;
  }
  return seen;
}

/** A miss, for failure texts. */
export const describeIotlb = (t: Iotlb): string => `type ${t.type} iova 0x${t.iova.toString(16)} size 0x${t.size.toString(16)} perm ${t.perm}`;
