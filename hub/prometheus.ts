import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ReadingSource } from './core/reading.js';

/** The hub's Prometheus metrics, on a registry of its own (several hubs can share a process in tests). */
export function createMetrics() {
  const registry = new Registry();
  // prom-client's own names start with process_ and nodejs_: hub_process_cpu_seconds_total, hub_nodejs_heap_size_used_bytes.
  collectDefaultMetrics({ register: registry, prefix: 'hub_' });
  const storage: StorageProbe = {
    spoolReadings: () => 0,
    spoolBytes: () => 0,
    inFlight: () => 0,
    spoolOk: () => true,
    writerState: () => 'ok',
  };
  // Counted per message as plain numbers, handed to prom-client when scraped: its
  // inc() checks its arguments and looks up its label set every time.
  const hot: HotCounts = { messages: 0, readings: { mqtt: 0, firmata: 0, simulator: 0 } };
  const told: HotCounts = { messages: 0, readings: { mqtt: 0, firmata: 0, simulator: 0 } };
  // The ingest rate is worked out over the time since the previous scrape.
  let lastAt = performance.now();
  let lastCount = 0;
  const m = {
    registry,
    messages: new Counter({
      name: 'hub_messages_total',
      help: 'MQTT publishes received from clients',
      registers: [registry],
      collect() {
        this.inc(hot.messages - told.messages);
        told.messages = hot.messages;
      },
    }),
    readings: new Counter({
      name: 'hub_readings_total',
      help: 'Canonical readings accepted by the pipeline',
      labelNames: ['source'] as const,
      registers: [registry],
      collect() {
        for (const source of Object.keys(hot.readings) as ReadingSource[]) {
          this.labels(source).inc(hot.readings[source] - told.readings[source]);
          told.readings[source] = hot.readings[source];
        }
      },
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
    writeRefusals: new Counter({
      name: 'hub_influx_write_refusals_total',
      help: 'Write requests InfluxDB refused as a whole (401, 403, 404, 3xx, ...), by HTTP status; the readings stay in the spool',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    writerState: new Gauge({
      name: 'hub_influx_writer_state',
      help: 'The InfluxDB writer state: 1 for the current one of ok, retrying, refused',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const now = storage.writerState();
        for (const s of ['ok', 'retrying', 'refused'] as const) this.set({ state: s }, s === now ? 1 : 0);
      },
    }),
    spoolUp: new Gauge({
      name: 'hub_spool_up',
      help: '1 while spool commits succeed, 0 after a failed one (e.g. a full disk) until one succeeds again',
      registers: [registry],
      collect() {
        this.set(storage.spoolOk() ? 1 : 0);
      },
    }),
    spoolCommitFailures: new Counter({
      name: 'hub_spool_commit_failures_total',
      help: 'Spool commits that failed or were refused while commits fail; their QoS 1 publishers got no PUBACK',
      registers: [registry],
    }),
    influxdRestarts: new Counter({
      name: 'hub_influxd_restarts_total',
      help: 'Times the managed influxd was started again after it exited on its own',
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
      help: 'Readings waiting for InfluxDB (the spool depth)',
      registers: [registry],
      collect() {
        this.set(storage.spoolReadings());
      },
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
    // --- durable spool: what is waiting for InfluxDB, and whether it can still take more ---
    spoolReadings: new Gauge({
      name: 'hub_spool_readings',
      help: 'Readings on disk in the spool, not yet confirmed by InfluxDB',
      registers: [registry],
      collect() {
        this.set(storage.spoolReadings());
      },
    }),
    spoolBytes: new Gauge({
      name: 'hub_spool_bytes',
      help: 'Bytes in the spool (cap: spool.maxBytes)',
      registers: [registry],
      collect() {
        this.set(storage.spoolBytes());
      },
    }),
    writesInFlight: new Gauge({
      name: 'hub_influx_writes_in_flight',
      help: 'Write requests waiting for InfluxDB',
      registers: [registry],
      collect() {
        this.set(storage.inFlight());
      },
    }),
    ingestRate: new Gauge({
      name: 'hub_ingest_readings_per_second',
      help: 'Readings accepted per second, over the time since the previous scrape (or start)',
      registers: [registry],
      collect() {
        const now = performance.now();
        const n = readingsAccepted(hot);
        this.set(now > lastAt ? ((n - lastCount) * 1000) / (now - lastAt) : 0);
        lastAt = now;
        lastCount = n;
      },
    }),
    republishSkipped: new Counter({
      name: 'hub_republish_skipped_total',
      help: 'Live copies on hub/readings/... skipped under overload (the readings are stored)',
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'hub_duplicate_readings_total',
      help: 'Readings identical to the previous one of their series (same device time and value): a resend, stored once',
      registers: [registry],
    }),
    quarantineRepublishSkipped: new Counter({
      name: 'hub_quarantine_republish_skipped_total',
      help: 'Quarantine entries not republished on hub/quarantine/... under overload (still counted, kept and logged to file)',
      registers: [registry],
    }),
    quarantineFileBytes: new Counter({
      name: 'hub_quarantine_file_bytes_total',
      help: 'Bytes written to the quarantine file',
      registers: [registry],
    }),
    quarantineFileDropped: new Counter({
      name: 'hub_quarantine_file_dropped_total',
      help: 'Quarantine entries not written to the quarantine file (the disk was behind, or the file failed)',
      registers: [registry],
    }),
    ingestLatency: new Histogram({
      name: 'hub_ingest_to_stored_seconds',
      help: 'Per spool chunk (one group commit): from the hub receiving its first reading to InfluxDB confirming it',
      buckets: [
        0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30,
        60,
      ],
      registers: [registry],
    }),
    // --- MQTT wire (hub/mqtt/) ---
    mqttDenied: new Counter({
      name: 'hub_mqtt_denied_total',
      help: 'MQTT sign-ins, connections, publishes and subscriptions refused by access control or flood limits, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    mqttRefused: new Counter({
      name: 'hub_mqtt_connections_refused_total',
      help: 'MQTT connections refused or closed by the hub for breaking the protocol, a cap or its rights, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    mqttPublishRefused: new Counter({
      name: 'hub_mqtt_publishes_refused_total',
      help: 'MQTT publishes the broker refused before ingest (reserved_topic, quota_exceeded, payload_format), whatever became of the connection',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    mqttDuplicates: new Counter({
      name: 'hub_mqtt_duplicates_total',
      help: 'QoS 1 and 2 resends acknowledged without being ingested again',
      labelNames: ['qos'] as const,
      registers: [registry],
    }),
    mqttRetainedRefused: new Counter({
      name: 'hub_mqtt_retained_refused_total',
      help: 'Retained publishes not retained: mqtt.maxRetained topics were retained already',
      registers: [registry],
    }),
  };
  return Object.assign(m, { storage, hot });
}

/** Counts of the hot path (see `hot` in createMetrics). */
export interface HotCounts {
  /** hub_messages_total */
  messages: number;
  /** hub_readings_total by source */
  readings: Record<ReadingSource, number>;
}

/** Readings accepted so far, from every source. */
export function readingsAccepted(hot: HotCounts): number {
  return hot.readings.mqtt + hot.readings.firmata + hot.readings.simulator;
}

/** Read by the storage gauges at scrape time; the hub points these at its spool and writer. */
export interface StorageProbe {
  spoolReadings(): number;
  spoolBytes(): number;
  inFlight(): number;
  spoolOk(): boolean;
  writerState(): 'ok' | 'retrying' | 'refused';
}

export type HubMetrics = ReturnType<typeof createMetrics>;
