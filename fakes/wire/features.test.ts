import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DeviceStatus,
  NetFeature,
  PROTOCOL_FEATURE_TIER,
  ProtocolFeature,
  VHOST_USER_F_PROTOCOL_FEATURES,
  VirtioFeature,
  deviceStatusNames,
  featureBits,
  featureMask,
  featureNames,
  hasFeature,
  protocolFeatureNames,
  toHex,
  virtioFeatureNames,
  withFeature,
  withoutFeature,
} from './features.js';

describe('feature bits', () => {
  it('uses the spec numbers', () => {
    expect(VirtioFeature.VERSION_1).toBe(32);
    expect(VirtioFeature.ACCESS_PLATFORM).toBe(33);
    expect(VirtioFeature.RING_PACKED).toBe(34);
    expect(VirtioFeature.EVENT_IDX).toBe(29);
    expect(VHOST_USER_F_PROTOCOL_FEATURES).toBe(30);
    expect(ProtocolFeature.REPLY_ACK).toBe(3);
    expect(ProtocolFeature.CONFIGURE_MEM_SLOTS).toBe(15);
    expect(ProtocolFeature.SHMEM).toBe(22);
    expect(ProtocolFeature.GET_VRING_BASE_SKIP_DRAIN).toBe(23);
    expect(NetFeature.MRG_RXBUF).toBe(15);
    expect(NetFeature.MQ).toBe(22);
    expect(DeviceStatus.FEATURES_OK).toBe(8);
  });

  it('protocol bits 0–23 are all named, unique and tiered', () => {
    const bits = Object.values(ProtocolFeature).sort((a, b) => a - b);
    expect(bits).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(Object.keys(PROTOCOL_FEATURE_TIER).sort()).toEqual(Object.keys(ProtocolFeature).sort());
    expect(PROTOCOL_FEATURE_TIER.GPA_ADDRESSES).toBe('T1');
    expect(PROTOCOL_FEATURE_TIER.GET_VRING_BASE_SKIP_DRAIN).toBe('T2');
    expect(PROTOCOL_FEATURE_TIER.DEVICE_STATE).toBe('T0');
  });

  it('virtio and net tables have unique bits', () => {
    for (const t of [VirtioFeature, NetFeature]) {
      const v = Object.values(t);
      expect(new Set(v).size).toBe(v.length);
    }
  });

  it('featureMask / hasFeature agree', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 63 })), fc.integer({ min: 0, max: 63 }), (bits, probe) => {
        const m = featureMask(...bits);
        expect(hasFeature(m, probe)).toBe(bits.includes(probe));
        expect(featureBits(m)).toEqual([...bits].sort((a, b) => a - b));
      }),
    );
    expect(featureMask(32, 30)).toBe(0x140000000n);
    expect(() => featureMask(64)).toThrow(RangeError);
    expect(() => hasFeature(0n, -1)).toThrow(RangeError);
    expect(withFeature(0n, 3)).toBe(8n);
    expect(withoutFeature(0xfn, 3)).toBe(7n);
  });

  it('featureNames names known bits and BIT_n the rest, ascending', () => {
    expect(featureNames(featureMask(3, 0, 40), ProtocolFeature)).toEqual(['MQ', 'REPLY_ACK', 'BIT_40']);
    expect(protocolFeatureNames(0n)).toEqual([]);
    expect(protocolFeatureNames(featureMask(15, 5))).toEqual(['BACKEND_REQ', 'CONFIGURE_MEM_SLOTS']);
  });

  it('virtioFeatureNames adds net names only for net', () => {
    const m = featureMask(VirtioFeature.VERSION_1, VHOST_USER_F_PROTOCOL_FEATURES, NetFeature.MRG_RXBUF);
    expect(virtioFeatureNames(m)).toEqual(['BIT_15', 'PROTOCOL_FEATURES', 'VERSION_1']);
    expect(virtioFeatureNames(m, 'net')).toEqual(['MRG_RXBUF', 'PROTOCOL_FEATURES', 'VERSION_1']);
    expect(virtioFeatureNames(m, 'blk')).toEqual(['BIT_15', 'PROTOCOL_FEATURES', 'VERSION_1']);
    // Bit 41: device-independent ADMIN_VQ wins over legacy net GUEST_RSC4.
    expect(virtioFeatureNames(featureMask(41), 'net')).toEqual(['ADMIN_VQ']);
  });

  it('every bit of any mask gets exactly one name', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (m) => {
        expect(virtioFeatureNames(m, 'net')).toHaveLength(featureBits(m).length);
      }),
    );
  });

  it('deviceStatusNames and toHex', () => {
    expect(deviceStatusNames(0xf)).toEqual(['ACKNOWLEDGE', 'DRIVER', 'DRIVER_OK', 'FEATURES_OK']);
    expect(deviceStatusNames(0x40n)).toEqual(['DEVICE_NEEDS_RESET']);
    expect(toHex(0n)).toBe('0x0');
    expect(toHex(featureMask(32, 30))).toBe('0x140000000');
  });
});
