/**
 * The hub's outbound MQTT topics (README "MQTT topics"), built in one place so the
 * publishers, Home Assistant discovery and the docs cannot drift apart.
 */
export const topics = {
  /** Every canonical reading copy starts with this; a subscriber check uses it as a prefix. */
  readingsRoot: 'hub/readings',
  reading: (device: string, sensor: string) => `hub/readings/${device}/${sensor}`,
  /** Retained `online`/`offline`. */
  availability: (device: string) => `hub/devices/${device}/availability`,
  quarantine: (device: string) => `hub/quarantine/${device}`,
  /** Retained: the latest change of one alert (docs/alerts.md). */
  alert: (rule: string, device: string, sensor: string) => `hub/alerts/${rule}/${device}/${sensor}`,
  /** Retained `{"state":"ON"|"OFF","firing":n}` per rule, for Home Assistant's binary sensor. */
  alertRule: (rule: string) => `hub/alerts/${rule}`,
  /** The hub's own retained `online`/`offline`. */
  status: 'hub/status',
} as const;

/** Topics only the hub itself publishes under: a device must not spoof its readings or states. */
export function isReservedTopic(topic: string): boolean {
  return topic.startsWith('hub/') || topic.startsWith('$SYS/');
}
