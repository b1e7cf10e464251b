import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../hub/config/load.js';

describe('mqtt wire limits in the config', () => {
  it('defaults: packets up to twice maxPayloadBytes, 100 awaiting PUBREL, 10,000 retained topics', () => {
    const c = loadConfig({ env: {} });
    expect(c.mqtt.maxPacketBytes).toBe(512 * 1024);
    expect(c.mqtt.maxAwaitingPubrel).toBe(100);
    expect(c.mqtt.maxRetained).toBe(10_000);
    expect(loadConfig({ env: { HUB_MQTT_MAX_PAYLOAD_BYTES: '1048576' } }).mqtt.maxPacketBytes).toBe(
      2 * 1024 * 1024,
    );
  });

  it('are set by HUB_MQTT_MAX_PACKET_BYTES, HUB_MQTT_MAX_AWAITING_PUBREL and HUB_MQTT_MAX_RETAINED', () => {
    const c = loadConfig({
      env: {
        HUB_MQTT_MAX_PACKET_BYTES: '300000',
        HUB_MQTT_MAX_AWAITING_PUBREL: '20',
        HUB_MQTT_MAX_RETAINED: '50',
      },
    });
    expect([c.mqtt.maxPacketBytes, c.mqtt.maxAwaitingPubrel, c.mqtt.maxRetained]).toEqual([300_000, 20, 50]);
  });

  it('refuses a packet cap under the payload cap, with its path', () => {
    try {
      loadConfig({ env: { HUB_MQTT_MAX_PACKET_BYTES: '100000' } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.path)).toEqual(['mqtt.maxPacketBytes']);
    }
  });
});
