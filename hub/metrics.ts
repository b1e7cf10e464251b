import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The hub's Prometheus metrics, on a registry of its own (several hubs can share a process in tests). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hub_process_' });
  const m = {
    registry,
    messages: new Counter({
      name: 'hub_messages_total',
      help: 'MQTT publishes received from clients',
      registers: [registry],
    }),
    readings: new Counter({
      name: 'hub_readings_total',
      help: 'Canonical readings accepted by the pipeline',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
    quarantined: new Counter({
      name: 'hub_quarantined_total',
      help: 'Payloads or values quarantined, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    stored: new Counter({
      name: 'hub_influx_points_written_total',
      help: 'Points InfluxDB confirmed',
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'hub_readings_dropped_total',
      help: 'Readings dropped, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    retries: new Counter({
      name: 'hub_influx_write_retries_total',
      help: 'Write requests retried',
      registers: [registry],
    }),
    rejectedPoints: new Counter({
      name: 'hub_influx_points_rejected_total',
      help: 'Points InfluxDB refused for good',
      registers: [registry],
    }),
    writeLatency: new Histogram({
      name: 'hub_influx_write_seconds',
      help: 'Duration of successful write requests',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'hub_influx_queue_readings',
      help: 'Readings waiting for InfluxDB',
      registers: [registry],
    }),
    influxUp: new Gauge({
      name: 'hub_influx_up',
      help: '1 when the last InfluxDB ping answered',
      registers: [registry],
    }),
    clients: new Gauge({ name: 'hub_mqtt_clients', help: 'Connected MQTT clients', registers: [registry] }),
    suppressed: new Counter({
      name: 'hub_readings_suppressed_total',
      help: 'Readings report-on-change dropped (within the deadband)',
      registers: [registry],
    }),
    devices: new Gauge({
      name: 'hub_devices',
      help: 'Known devices by state',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
  };
  return m;
}

export type HubMetrics = ReturnType<typeof createMetrics>;
