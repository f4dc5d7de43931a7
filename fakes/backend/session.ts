/**
 * One served connection: session state, dispatcher and ring engine wired together, reading
 * messages until the front-end goes away or the back-end is told to stop. When it ends, every
 * ring stops and every fd and mapping of the session is released, so the next connection starts
 * fresh (VU-SESS-003).
 * @module
 */
import type { MessageStream } from '../transport/message-stream.js';
import { frontendRequestName } from '../wire/index.js';
import type { Device } from './device.js';
import { Dispatcher, describeRequest } from './dispatcher.js';
import { offeredFeatures, offeredProtocolFeatures, type FeatureOptions } from './features.js';
import type { BackendHooks } from './hooks.js';
import { RingControl } from './ring-control.js';
import { RingEngine } from './ring-engine.js';
import { SessionState, type SessionObserver } from './session-state.js';

/** Options shared by every way of running the back-end. */
export interface BackendOptions extends FeatureOptions {
  /** The device (shared by successive sessions; reset between them). */
  readonly device: Device;
  /** Fault / strict hooks. */
  readonly hooks?: BackendHooks;
  /** Where events and violations go. */
  readonly observer?: SessionObserver;
  /** Virtio features SET_FEATURES must include (e.g. RING_PACKED). */
  readonly requiredFeatures?: bigint;
  /** Log every message received (event `message`). */
  readonly traceMessages?: boolean;
}

/** How a session ended. */
export interface SessionEnd {
  /** Why: `peer closed`, `stopped`, or the reason the back-end closed. */
  readonly reason: string;
  /** Messages handled. */
  readonly messages: number;
  /** Violations seen. */
  readonly violations: number;
}

/** Serves one connection until the peer closes or `shouldStop()` turns true. Never throws. */
export async function serveSession(stream: MessageStream, options: BackendOptions, shouldStop: () => boolean): Promise<SessionEnd> {
  const observer = options.observer ?? {};
  const { device } = options;
  const state = new SessionState(offeredFeatures(device, options), offeredProtocolFeatures(options), device.maxQueues, observer);
  state.requiredFeatures = options.requiredFeatures ?? 0n;
  let engine: RingEngine | undefined;
  const rings = new RingControl(state, options.hooks?.dataPath, () => engine?.wake());
  engine = new RingEngine(state, device, rings);
  state.setFdRetirer((fd) => engine!.retireFd(fd));
  const dispatcher = new Dispatcher(state, device, rings, (frame) => stream.send(frame), options.hooks);
  engine.start();
  let messages = 0;
  let reason = 'stopped';
  try {
    while (!shouldStop()) {
      const ev = await stream.read(200);
      if (ev.kind === 'idle') continue;
      if (ev.kind === 'eof') {
        reason = ev.partialBytes > 0 ? `peer closed in the middle of a message (${ev.partialBytes} bytes)` : 'peer closed';
        break;
      }
      if (ev.kind === 'oversize') {
        reason = `${frontendRequestName(ev.header.request)} announces a ${ev.header.size}-byte payload: closing (VU-MSG-005)`;
        break;
      }
      if (ev.kind === 'error') {
        reason = `socket error: ${ev.error.message}`;
        break;
      }
      messages++;
      if (options.traceMessages) state.event('message', { detail: describeRequest(ev.message) });
      const out = dispatcher.handle(ev.message);
      if (out.close !== undefined) {
        reason = out.close;
        break;
      }
    }
  } finally {
    await engine.stop();
    state.setFdRetirer(undefined);
    state.close();
    device.reset();
    stream.close();
  }
  return { reason, messages, violations: state.violationCount };
}
