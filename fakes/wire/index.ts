/**
 * The pure vhost-user wire model (DESIGN "fakes/wire"): header, request table, feature bits,
 * payload codecs, messages, errors and ring layouts. No I/O, no state, no project imports;
 * everything else in vhostlab that speaks vhost-user derives from this folder.
 * @module
 */
export * from './errors.js';
export * from './header.js';
export * from './features.js';
export * from './requests.js';
export * from './message.js';
export * from './payloads/index.js';
/** The payload families as one namespace: `payloads.u64.decode(…)`, `payloads.vringState.SIZE`. */
export * as payloads from './payloads/index.js';
export * from './ring-layout.js';
export * from './inflight-layout.js';
export * from './packed-vring-base.js';
export { HOST_LITTLE_ENDIAN, swap16, swap32 } from './byte-order.js';
export * from './config-fields.js';
