import type { Candidate } from '../../devices/decoder.js';
import type { HubConfig } from '../config/schema.js';
import type { EventBus } from '../core/bus.js';
import type { RawMessage } from '../core/raw-message.js';
import type { Reading, ReadingSource } from '../core/reading.js';
import { topicMatches } from '../core/topic.js';
import { isReservedTopic } from '../core/topics.js';
import { formatPipelineParts } from '../device-support.js';
import { type IngestResult, Pipeline } from '../pipeline/pipeline.js';
import { SeriesClock } from '../pipeline/series-clock.js';
import type { HubMetrics } from '../prometheus.js';
import type { Quarantine } from '../quarantine.js';
import type { DeviceRegistry } from '../registry.js';
import type { HubModule } from './module.js';

const RESERVED: IngestResult = Object.freeze({
  readings: [],
  rejected: 1,
  handled: true,
  suppressed: [],
  availability: [],
  duplicates: 0,
});

/** Where accepted readings go (the spool sink); see SpoolSink.accept for what is returned. */
export interface ReadingStore {
  accept(rs: readonly Reading[], qos: 0 | 1 | 2): Promise<void> | undefined;
  readonly full: boolean;
  waitForRoom(): Promise<void>;
}

/** The registry as the ingest path uses it. */
export type IngestRegistry = Pick<
  DeviceRegistry,
  'admit' | 'limits' | 'tagsOf' | 'setAvailability' | 'seen' | 'noteClient'
>;

export interface IngestDeps {
  config: HubConfig;
  bus: EventBus;
  metrics: HubMetrics;
  registry: IngestRegistry;
  quarantine: Quarantine;
  /** Resolved at start(): storage opens its spool first. */
  store: () => ReadingStore;
}

/**
 * Ingest: every source's messages through the pipeline into storage. The broker hands
 * a publish to onMessage with its QoS; what it returns is what the publish waits for
 * before its acknowledgement (the commit for QoS 1/2). Boards and in-process sources
 * come in through ingestCandidates and ingest (QoS 0: never held).
 */
export class IngestModule implements HubModule {
  readonly name = 'ingest';
  readonly pipeline: Pipeline;
  #store: ReadingStore | undefined;
  readonly #ignore: readonly string[];
  readonly #hot: HubMetrics['hot'];
  /** Forgets a device's last stored values, so its next reading is stored whatever the dead band. */
  readonly forgetReported: (device: string) => void;

  constructor(private readonly deps: IngestDeps) {
    const { config, registry, quarantine, bus } = deps;
    const { decoders, meta, ...formatContext } = formatPipelineParts(config);
    this.forgetReported = (device) => formatContext.lastReported?.forgetDevice(device);
    this.pipeline = new Pipeline({
      decoders,
      meta,
      quarantine,
      bus,
      maxPayloadBytes: config.mqtt.maxPayloadBytes,
      context: {
        deviceTags: registry.tagsOf(),
        clock: new SeriesClock(),
        admit: (d) => registry.admit(d),
        limits: registry.limits,
        ...formatContext,
      },
    });
    this.#ignore = config.mqtt.ignore;
    this.#hot = deps.metrics.hot;
  }

  /**
   * The device a topic carries readings of, as the decoders read it (the ACL's device
   * rule): undefined when no format reads the topic, null when one does but names no
   * single device (Zigbee2MQTT's bridge, Home Assistant discovery).
   */
  readonly deviceOf = (topic: string): string | null | undefined => {
    const levels = topic.split('/');
    const decoder = this.pipeline.decoderFor(levels);
    return decoder ? (decoder.deviceOf(levels) ?? null) : undefined;
  };

  start(): void {
    this.#store = this.deps.store();
    const quarantined = this.deps.metrics.quarantined;
    this.deps.bus.on(this, 'quarantine', (e) => quarantined.inc({ reason: e.reason }));
  }

  stop(): void {
    this.deps.bus.removeAll(this);
    this.#store = undefined;
  }

  /**
   * A publish from the broker. While the spool is full a QoS 1/2 publish waits for
   * room before it is even decoded, and its connection is not read meanwhile (Aedes
   * reads the next packets after the PUBACK).
   */
  readonly onMessage = (msg: RawMessage, qos: 0 | 1 | 2): Promise<void> | undefined => {
    if (qos > 0 && this.#need().full)
      return this.#need()
        .waitForRoom()
        .then(() => this.#publish(msg, qos));
    return this.#publish(msg, qos);
  };

  /** A message from an in-process source (simulators, tests), as a QoS 0 publish. */
  readonly ingest = (msg: RawMessage): IngestResult => {
    const res = this.#decode(msg);
    this.#keep(res.readings, 0);
    return res;
  };

  /** Candidates from a board driver: the same steps without a decode. */
  readonly ingestCandidates = (
    candidates: readonly Candidate[],
    source: ReadingSource,
    receivedAt?: number,
  ): IngestResult => {
    const res = this.#applyResult(this.pipeline.ingestCandidates(candidates, source, receivedAt));
    this.#keep(res.readings, 0);
    return res;
  };

  #publish(msg: RawMessage, qos: 0 | 1 | 2): Promise<void> | undefined {
    this.#hot.messages++;
    const res = this.#decode(msg);
    const rs = res.readings;
    if (rs.length === 0) return undefined;
    if (msg.clientId) this.deps.registry.noteClient(msg.clientId, rs[0]!.device);
    return this.#keep(rs, qos);
  }

  #keep(rs: readonly Reading[], qos: 0 | 1 | 2): Promise<void> | undefined {
    if (rs.length === 0) return undefined;
    this.#hot.readings[rs[0]!.source] += rs.length;
    return this.#need().accept(rs, qos);
  }

  /**
   * A message through the pipeline; a topic no decoder reads is quarantined unless ignored.
   * A publish under the hub's own topics is quarantined as reserved_topic (and logged as
   * a warning) before any decoder sees it.
   */
  #decode(msg: RawMessage): IngestResult {
    if (isReservedTopic(msg.topic)) {
      this.deps.quarantine.add(
        msg,
        undefined,
        'reserved_topic',
        `${msg.topic.slice(0, 128)} is reserved for the hub${msg.clientId === undefined ? '' : ` (client ${msg.clientId.slice(0, 64)})`}`,
      );
      return RESERVED;
    }
    const res = this.#applyResult(this.pipeline.ingest(msg));
    if (!res.handled && !this.#ignored(msg.topic)) {
      this.deps.quarantine.add(
        msg,
        undefined,
        'unknown_topic',
        `no decoder reads ${msg.topic.slice(0, 128)}`,
      );
    }
    return res;
  }

  #ignored(topic: string): boolean {
    for (const f of this.#ignore) if (topicMatches(f, topic)) return true;
    return false;
  }

  /** What every source's result updates: availability notes and report-on-change drops. */
  #applyResult(res: IngestResult): IngestResult {
    const { registry, metrics } = this.deps;
    for (const a of res.availability) registry.setAvailability(a.device, a.state);
    if (res.suppressed.length > 0) {
      registry.seen(res.suppressed);
      metrics.suppressed.inc(res.suppressed.length);
    }
    if (res.duplicates > 0) metrics.duplicates.inc(res.duplicates);
    return res;
  }

  #need(): ReadingStore {
    const s = this.#store;
    if (!s) throw new Error('ingest is not started');
    return s;
  }
}
