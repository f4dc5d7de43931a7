/**
 * An in-process back-end with planted faults, for the fuzzers' own tests: the reference back-end
 * (fakes/backend) behind the {@link FuzzPeer} interface, with hooks that simulate a crash (the
 * back-end "dies": connection and listening socket gone, `takeCrash` reports a signal), a hang
 * (every message from then on is swallowed, also on fresh connections, until a restart) or lost
 * ring state after a reconnect (the first used element of each ring in a later session is never
 * written: a descriptor lost), and data-path faults: a crash on a descriptor outside memory, a hang
 * on a descriptor loop, a wrong buffer id in the used element of a long TX chain.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendServer, NetLoopbackDevice, type BackendHooks, type SessionState } from '../../fakes/backend/index.js';
import { Connection } from '../../fakes/transport/index.js';
import { FrontendRequest, VirtioFeature, featureMask, payloads, type RawMessage } from '../../fakes/wire/index.js';
import type { FuzzPeer } from '../peer/fuzz-peer.js';

/** Planted faults. */
export type PlantedFault =
  /** SET_VRING_ADDR on a ring whose last SET_VRING_NUM was 0 kills the back-end. */
  | 'crash-addr-after-zero-num'
  /** SET_VRING_CALL with NOFD on ring 1 makes the back-end stop answering anything. */
  | 'hang-call-nofd-ring1'
  /** From the second session on, the first used element of each ring is dropped. */
  | 'lose-ring-state'
  /** A descriptor or indirect table outside guest memory kills the back-end (CVE-2018-1059's class). */
  | 'crash-on-bad-address'
  /** A descriptor loop makes the back-end stop answering anything, as an unbounded walk would (B1). */
  | 'hang-on-chain-loop'
  /** A TX chain of three or more descriptors comes back under the wrong id (id + 1): state the driver cannot match. */
  | 'wrong-id-on-long-tx-chain'
  /** Not a bug: GET_FEATURES answers without VIRTIO_F_RING_PACKED, like a split-only back-end. */
  | 'no-packed-offer';

/** The fake peer. */
export class FakePeer implements FuzzPeer {
  readonly name: string;
  readonly mode = 'server' as const;
  readonly deviceType = 'net' as const;
  readonly loopingNet = true;
  readonly socket: string;
  /** Times the planted crash fired. */
  crashes = 0;
  private server: BackendServer | undefined;
  private dead = false;
  private crashPending: string | undefined;
  private hung = false;
  private closing: Promise<void> | undefined;
  private readonly dir: string;

  constructor(readonly faults: readonly PlantedFault[] = []) {
    this.name = `fake-backend[${faults.join(',') || 'none'}]`;
    this.dir = mkdtempSync(join(tmpdir(), 'vhl-fake-'));
    this.socket = join(this.dir, 'vu.sock');
  }

  async start(): Promise<void> {
    this.dead = false;
    this.hung = false;
    this.crashPending = undefined;
    this.server = BackendServer.listen(this.socket, { device: new NetLoopbackDevice(), hooks: this.hooks() });
  }

  private hooks(): BackendHooks {
    const zeroNum = new WeakMap<SessionState, Set<number>>();
    const sessions = new WeakMap<SessionState, number>();
    const skipped = new WeakMap<SessionState, Set<number>>();
    let sessionCount = 0;
    const has = (f: PlantedFault) => this.faults.includes(f);
    const sessionNo = (s: SessionState): number => {
      let n = sessions.get(s);
      if (n === undefined) sessions.set(s, (n = ++sessionCount));
      return n;
    };
    return {
      pre: (m: RawMessage, state: SessionState) => {
        sessionNo(state);
        if (this.hung) return { action: 'drop' };
        if (has('crash-addr-after-zero-num')) {
          let set = zeroNum.get(state);
          if (!set) zeroNum.set(state, (set = new Set()));
          if (m.request === FrontendRequest.SET_VRING_NUM && m.body.byteLength === 8) {
            const s = payloads.vringState.decode(m.body);
            if (s.num === 0) set.add(s.index);
            else set.delete(s.index);
          }
          if (m.request === FrontendRequest.SET_VRING_ADDR && m.body.byteLength === 40 && set.has(payloads.vringAddr.decode(m.body).index)) {
            this.die('killed by SIGSEGV (planted: SET_VRING_ADDR after SET_VRING_NUM 0)');
            return { action: 'close', reason: 'planted crash' };
          }
        }
        if (has('hang-call-nofd-ring1') && m.request === FrontendRequest.SET_VRING_CALL && m.body.byteLength === 8) {
          const f = payloads.vringFd.decode(m.body);
          if (f.noFd && f.index === 1) {
            this.hung = true;
            return { action: 'drop' };
          }
        }
        return undefined;
      },
      reply: (frame: RawMessage) => {
        if (!has('no-packed-offer') || frame.request !== FrontendRequest.GET_FEATURES || frame.body.byteLength !== 8) return undefined;
        const body = frame.body.slice();
        const v = new DataView(body.buffer);
        v.setBigUint64(0, v.getBigUint64(0, true) & ~featureMask(VirtioFeature.RING_PACKED), true);
        return { ...frame, body };
      },
      dataPath: {
        onBadChain: (_ring, rule) => {
          if (has('crash-on-bad-address') && (rule === 'VU-DP-014' || rule === 'VU-DP-017')) this.die(`killed by SIGSEGV (planted: ${rule} address outside guest memory)`);
          if (has('hang-on-chain-loop') && rule === 'VU-DP-005') this.hung = true;
        },
        beforeUsed: (e, state) => {
          if (has('wrong-id-on-long-tx-chain') && e.ring % 2 === 1 && e.chain.descCount >= 3) e.id = (e.id + 1) & 0xffff;
          if (!has('lose-ring-state')) return;
          if (sessionNo(state) < 2) return;
          let set = skipped.get(state);
          if (!set) skipped.set(state, (set = new Set()));
          if (!set.has(e.ring)) {
            set.add(e.ring);
            e.skip = true;
          }
        },
      },
    };
  }

  private die(how: string): void {
    this.crashes++;
    this.dead = true;
    this.crashPending = how;
    const s = this.server;
    this.server = undefined;
    // The close removes the socket file: a restart must wait for it, or it would remove the new one.
    this.closing = s?.close();
  }

  connect(timeoutMs: number): Promise<Connection> {
    return Connection.connect(this.socket, timeoutMs);
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async kill(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    this.dead = true;
    this.crashPending = undefined;
    await this.closing;
    this.closing = undefined;
    await s?.close();
  }

  async relisten(): Promise<void> {
    // Server mode: nothing to do.
  }

  alive(): boolean {
    return !this.dead;
  }

  takeCrash(): string | undefined {
    const c = this.crashPending;
    this.crashPending = undefined;
    return c;
  }

  fdCount(): number | undefined {
    // In-process: the fuzzer's own fds would count too.
    return undefined;
  }

  logTail(): string {
    return '';
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
