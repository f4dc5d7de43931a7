/**
 * A legacy big-endian split ring, written by hand over a {@link RingRig} ring's areas (the rig's
 * own driver is little-endian only): what a big-endian guest's legacy driver puts in memory after
 * SET_VRING_ENDIAN 1 (vhost-user.rst "VHOST_USER_SET_VRING_ENDIAN"; CHECKLIST VU-FEAT-008).
 * Offsets come from the one ring layout in `fakes/wire`; every field is stored big-endian.
 *
 * It posts one-descriptor chains only, descriptor i for the i-th chain (no reuse: a case posts at
 * most a ring's worth), and reads the used ring both ways so a failure can say "stored
 * little-endian" rather than just "wrong".
 * @module
 */
import { eventfdWrite } from '../../native/index.js';
import { DescFlag, SPLIT_AVAIL, SPLIT_DESC, SPLIT_USED } from '../../fakes/wire/index.js';
import type { RingRig } from './ring-rig.js';

/** One used element read big-endian. */
export interface BigEndianUsed {
  readonly id: number;
  readonly len: number;
}

/** The big-endian view of ring `index` of a rig whose rings were configured but never used. */
export class BigEndianRing {
  private posted = 0;
  private readonly size: number;

  constructor(
    private readonly rig: RingRig,
    readonly index: number,
  ) {
    this.size = rig.queueSize;
  }

  private view(gpa: number, len: number): DataView {
    const b = this.rig.memory.slice(gpa, len);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  private get layout(): { descAddr: number; availAddr: number; usedAddr: number } {
    return this.rig.q(this.index).driver.layout;
  }

  /** Chains posted so far (also the avail index stored). */
  get count(): number {
    return this.posted;
  }

  /**
   * Posts buffer `b` of the ring (`len` bytes, device-writable or not) as the next chain and
   * stores the new avail index; `kick` writes the kick fd afterwards. Throws past one ring's worth.
   */
  post(b: number, len: number, writable: boolean, kick = true): void {
    if (this.posted >= this.size) throw new RangeError(`ring ${this.index}: more than ${this.size} chains posted`);
    const { descAddr, availAddr } = this.layout;
    const d = this.posted;
    const desc = this.view(descAddr + d * SPLIT_DESC.SIZE, SPLIT_DESC.SIZE);
    desc.setBigUint64(SPLIT_DESC.ADDR, BigInt(this.rig.bufAddr(this.index, b)), false);
    desc.setUint32(SPLIT_DESC.LEN, len, false);
    desc.setUint16(SPLIT_DESC.FLAGS, writable ? DescFlag.WRITE : 0, false);
    desc.setUint16(SPLIT_DESC.NEXT, 0, false);
    const avail = this.view(availAddr, SPLIT_AVAIL.RING + SPLIT_AVAIL.ENTRY * this.size);
    avail.setUint16(SPLIT_AVAIL.RING + SPLIT_AVAIL.ENTRY * (d % this.size), d, false);
    this.posted++;
    // The entry before the index that publishes it (x86-64 keeps stores in order).
    avail.setUint16(SPLIT_AVAIL.IDX, this.posted & 0xffff, false);
    if (kick) eventfdWrite(this.rig.q(this.index).kickFd);
  }

  /** `used->idx` read big-endian (`be`) and, for the failure text, little-endian (`le`). */
  usedIdx(): { be: number; le: number } {
    const v = this.view(this.layout.usedAddr + SPLIT_USED.IDX, 2);
    return { be: v.getUint16(0, false), le: v.getUint16(0, true) };
  }

  /** Used element `slot`, read big-endian. */
  usedElem(slot: number): BigEndianUsed {
    const v = this.view(this.layout.usedAddr + SPLIT_USED.RING + SPLIT_USED.ENTRY * (slot % this.size), SPLIT_USED.ENTRY);
    return { id: v.getUint32(SPLIT_USED.ENTRY_ID, false), len: v.getUint32(SPLIT_USED.ENTRY_LEN, false) };
  }
}
