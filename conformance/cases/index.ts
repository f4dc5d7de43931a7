/**
 * The catalogue: every conformance case, assembled from one file per spec section (STYLE §20).
 * This file only assembles; order here is run order. To add a section, import its array and
 * append it to {@link allCases}, one line per file.
 * @module
 */
import type { ConformanceCase } from '../model.js';
import { sessionCases } from './session.js';
import { featureNegotiationCases } from './feature-negotiation.js';
import { protocolFeatureCases } from './protocol-features.js';
import { framingCases } from './framing.js';
import { memoryTableCases } from './memory-table.js';
import { ringStateCases } from './ring-states.js';
import { ringEndianCases } from './ring-endian.js';
import { suspendedDeviceCases } from './suspended-device.js';
import { usedPublicationCases } from './used-publication.js';
import { descriptorRaceCases } from './descriptor-races.js';
import { packedMergeCases } from './packed-merge.js';
import { packedIndirectCases } from './packed-indirect.js';
import { packedUsedStableCases } from './packed-used-stable.js';
import { packedUsedWriteFlagCases } from './packed-used-write-flag.js';
import { vringFdFlagCases } from './vring-fd-flag.js';
import { multiqueueCases } from './multiqueue.js';
import { dataPathCases } from './data-path.js';
import { descriptorBoundsCases } from './descriptor-bounds.js';
import { descriptorLifetimeCases } from './descriptor-lifetimes.js';
import { notificationCases } from './notifications.js';
import { reconnectCases } from './reconnect.js';
import { inflightCases } from './inflight.js';
import { inflightRobustnessCases } from './inflight-robustness.js';
import { robustnessCases } from './robustness.js';
import { backendChannelCases } from './backend-channel.js';
import { dirtyLogCases } from './dirty-log.js';
import { iotlbCases } from './iotlb.js';
import { dirtyLogTrafficCases } from './dirty-log-traffic.js';
import { ringEnableCases } from './ring-enable.js';
import { deviceStateCases } from './device-state.js';
import { deviceStateMigrationCases } from './device-state-migration.js';
import { inbandNotificationCases } from './inband-notifications.js';
import { netHeaderCases } from './net-header.js';

/** Every case, in run order. Case ids are unique (checked by the catalogue test). */
export const allCases: readonly ConformanceCase[] = Object.freeze([
  ...sessionCases,
  ...featureNegotiationCases,
  ...protocolFeatureCases,
  ...framingCases,
  // Further sections (memory, ring lifecycle, data path, reconnect, robustness…) go below, one line each.
  ...memoryTableCases,
  ...ringStateCases,
  ...ringEndianCases,
  ...suspendedDeviceCases,
  ...usedPublicationCases,
  ...descriptorRaceCases,
  ...packedMergeCases,
  ...packedIndirectCases,
  ...packedUsedStableCases,
  ...packedUsedWriteFlagCases,
  ...ringEnableCases,
  ...vringFdFlagCases,
  ...multiqueueCases,
  ...dataPathCases,
  ...netHeaderCases,
  ...descriptorBoundsCases,
  ...descriptorLifetimeCases,
  ...notificationCases,
  ...inbandNotificationCases,
  ...reconnectCases,
  ...inflightCases,
  ...inflightRobustnessCases,
  ...robustnessCases,
  ...dirtyLogCases,
  ...deviceStateMigrationCases,
  ...dirtyLogTrafficCases,
  ...iotlbCases,
  ...backendChannelCases,
  ...deviceStateCases,
]);
