/**
 * Steps many cases share: sending one request and observing the answer, negotiating as QEMU does
 * (CHECKLIST §2.3), and bringing up one split ring over memfd guest memory. Cases stay short and
 * read like the spec's observation column.
 * @module
 */
import { negotiate, startRing, sendMemoryTable, type FrontendSession, type Negotiated } from '../../../fakes/frontend/index.js';
import { GuestAllocator, MemfdGuestMemory } from '../../../fakes/memory/index.js';
import { SplitQueueDriver } from '../../../fakes/virtqueue/index.js';
import {
  ProtocolFeature, VirtioFeature, buildRawMessage, featureMask, hasFeature, type RawMessage,
} from '../../../fakes/wire/index.js';
import { closeFd, eventfdCreate } from '../../../native/index.js';
import type { CaseContext, Observation, PeerInfo } from '../../model.js';
import { observeNext } from '../../verify/index.js';

/** Sends `request` with `body` (NEED_REPLY and fds as asked) and observes the next message. */
export async function requestAndObserve(
  ctx: CaseContext, session: FrontendSession, request: number, body: Uint8Array = new Uint8Array(0),
  options: { needReply?: boolean; fds?: number[]; waitMs?: number; flags?: number } = {},
): Promise<Observation> {
  sendMessage(session, buildRawMessage(request, body, {
    needReply: options.needReply ?? false, fds: options.fds ?? [], ...(options.flags !== undefined ? { flags: options.flags } : {}),
  }));
  return observeNext(session, options.waitMs ?? ctx.waitMs, { awaiting: request });
}

/** Sends a message; a peer that already hung up is not an error here (the next observation says so). */
export function sendMessage(session: FrontendSession, msg: RawMessage): boolean {
  try {
    session.sendRaw(msg);
    return true;
  } catch {
    return false;
  }
}

/** The protocol features a case negotiates by default: REPLY_ACK, MQ, CONFIGURE_MEM_SLOTS where offered. */
export function defaultProtocolFeatures(peer: PeerInfo): bigint {
  return peer.protocolFeatures & featureMask(ProtocolFeature.REPLY_ACK, ProtocolFeature.MQ, ProtocolFeature.CONFIGURE_MEM_SLOTS);
}

/** Whether the peer offers REPLY_ACK, so acks can be asked for. */
export const offersReplyAck = (peer: PeerInfo): boolean => hasFeature(peer.protocolFeatures, ProtocolFeature.REPLY_ACK);

/**
 * QEMU's negotiation: GET_FEATURES, GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_MAX_MEM_SLOTS,
 * SET_OWNER, SET_FEATURES (VERSION_1 and bit 30 where offered).
 */
export async function negotiateDefault(session: FrontendSession, peer: PeerInfo, protocolFeatures = defaultProtocolFeatures(peer)): Promise<Negotiated> {
  return negotiate(session, { features: featureMask(VirtioFeature.VERSION_1), protocolFeatures });
}

/** One split ring over memfd guest memory, with its eventfds. */
export class OneRing {
  private closed = false;
  private constructor(
    readonly memory: MemfdGuestMemory,
    readonly driver: SplitQueueDriver,
    readonly kickFd: number,
    readonly callFd: number,
  ) {}

  /** Guest memory (4 MiB at `gpa`, default 4 GiB) and one ring of `size` entries, not yet sent. */
  static create(size = 256, gpa = 0x1_0000_0000): OneRing {
    const memory = MemfdGuestMemory.create([{ guestPhysAddr: gpa, size: 4 << 20 }], { name: 'vhostlab-case' });
    try {
      const driver = SplitQueueDriver.create(memory, new GuestAllocator(memory), { size });
      return new OneRing(memory, driver, eventfdCreate(), eventfdCreate());
    } catch (err) {
      memory.close();
      throw err;
    }
  }

  /** SET_MEM_TABLE (or ADD_MEM_REG), then NUM, BASE, ADDR, KICK, CALL, ENABLE for ring `index`. */
  async start(session: FrontendSession, index = 0, base = 0): Promise<void> {
    await sendMemoryTable(session, this.memory);
    const l = this.driver.layout;
    await startRing(session, this.memory, {
      index, size: l.size, descAddr: l.descAddr, availAddr: l.availAddr, usedAddr: l.usedAddr,
      base, kickFd: this.kickFd, callFd: this.callFd,
    });
  }

  /** The used ring's idx as the device last wrote it. */
  usedIdx(): number {
    return this.memory.readU16(this.driver.layout.usedAddr + 2);
  }

  /** Releases the memory and eventfds. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeFd(this.kickFd);
    closeFd(this.callFd);
    this.memory.close();
  }
}

/** Waits `ms`, or less when the case is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = (): void => { clearTimeout(t); resolve(); };
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
