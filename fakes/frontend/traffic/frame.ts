/**
 * The test frame that `vhostlab traffic` sends: an Ethernet frame that carries a sequence number
 * and a checksum, so loss, duplication, reordering and corruption can be counted on the way back.
 *
 * Layout (frame offsets; the frame follows the 12-byte virtio-net header in the buffer):
 *
 *   0/6  destination MAC   6/6 source MAC      (a looping back-end may swap them: not checked)
 *  12/2  EtherType 0x88B5 (IEEE "local experimental")
 *  14/2  magic 0x564C ("VL")
 *  16/4  sequence number (u32 LE)
 *  20/4  check word: chosen so the wrapping u32 sum of every covered word is 0
 *  24/…  payload pattern
 *
 * The checksum covers everything from offset 12 to the end (trailing bytes added one by one).
 * Buffers are placed so that frame offset 12 is 4-byte aligned, which lets the hot loop read
 * the frame as a Uint32Array.
 * @module
 */

/** Smallest frame: an Ethernet header plus our 12 bytes of sequence and check. */
export const MIN_FRAME = 24;
/** Largest frame vhostlab traffic sends (a standard 1518-byte Ethernet frame incl. FCS room). */
export const MAX_FRAME = 9000;
/** EtherType used by the test frames. */
export const ETHERTYPE = 0x88b5;
const MAGIC = 0x564c;
/** Frame offset of the sequence number. */
export const SEQ_OFFSET = 16;
/** Frame offset of the check word. */
export const CHECK_OFFSET = 20;
/** First checksummed frame offset. */
export const SUM_START = 12;

/** MAC addresses of the test frames (locally administered). */
export const SRC_MAC = [0x02, 0x76, 0x6c, 0x00, 0x00, 0x01] as const;
export const DST_MAC = [0x02, 0x76, 0x6c, 0x00, 0x00, 0x02] as const;

/**
 * Writes the constant part of a frame (MACs, EtherType, magic, payload pattern) into `frame`
 * and returns the wrapping u32 sum of its covered words with seq = 0 and check = 0. Per packet,
 * only {@link stampFrame} runs.
 */
export function prepareFrame(frame: Uint8Array, slot: number): number {
  frame.set(DST_MAC, 0);
  frame.set(SRC_MAC, 6);
  frame[12] = ETHERTYPE >> 8;
  frame[13] = ETHERTYPE & 0xff;
  frame[14] = MAGIC & 0xff;
  frame[15] = MAGIC >> 8;
  frame.fill(0, SEQ_OFFSET, 24);
  // A pattern that differs per slot and per byte, so a buffer mix-up or shifted copy is visible.
  for (let i = 24; i < frame.length; i++) frame[i] = (i * 31 + slot * 7 + 0x5a) & 0xff;
  return sumFrame(frame);
}

/** Stamps `seq` and the matching check word into a prepared frame whose base sum is `baseSum`. */
export function stampFrame(words: Uint32Array, wordBase: number, seq: number, baseSum: number): void {
  // words[wordBase] is frame offset 12; seq at +1, check at +2 (offsets 16 and 20).
  words[wordBase + 1] = seq;
  words[wordBase + 2] = (0 - ((baseSum + seq) | 0)) >>> 0;
}

/** Wrapping u32 sum over the covered part of `frame` (offset 12 to the end). */
export function sumFrame(frame: Uint8Array): number {
  const len = frame.length;
  let sum = 0;
  let i = SUM_START;
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  for (; i + 4 <= len; i += 4) sum = (sum + dv.getUint32(i, true)) | 0;
  for (let shift = 0; i < len; i++, shift += 8) sum = (sum + (frame[i] << shift)) | 0;
  return sum >>> 0;
}

/**
 * Checks a received frame in place. `words` is a Uint32Array over the same memory and
 * `wordBase` the index of frame offset 12 in it (4-byte aligned). Returns the sequence number,
 * or -1 when the frame is corrupt (wrong magic or checksum).
 */
export function verifyFrame(bytes: Uint8Array, byteBase: number, words: Uint32Array, wordBase: number, frameLen: number): number {
  if (frameLen < MIN_FRAME) return -1;
  if (bytes[byteBase + 12] !== ETHERTYPE >> 8 || bytes[byteBase + 13] !== (ETHERTYPE & 0xff)) return -1;
  const covered = frameLen - SUM_START;
  const nWords = covered >>> 2;
  let sum = 0;
  for (let w = 0; w < nWords; w++) sum = (sum + words[wordBase + w]) | 0;
  let i = byteBase + SUM_START + (nWords << 2);
  const end = byteBase + frameLen;
  for (let shift = 0; i < end; i++, shift += 8) sum = (sum + (bytes[i] << shift)) | 0;
  if (sum !== 0) return -1;
  return words[wordBase + 1];
}
