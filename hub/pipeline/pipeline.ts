import {
  type AvailabilityNote,
  asResult,
  type Candidate,
  type DecodeContext,
  type DecodeResult,
  type DecoderDefinition,
} from '../../devices/decoder.js';
import { MetaCache } from '../../devices/meta-cache.js';
import type { EventBus } from '../core/bus.js';
import { RejectError } from '../core/errors.js';
import type { RawMessage } from '../core/raw-message.js';
import type { Reading, ReadingSource } from '../core/reading.js';
import type { Quarantine } from '../quarantine.js';
import { type Draft, STEPS, type Step, type StepContext } from './steps.js';

export interface PipelineOptions {
  decoders: readonly DecoderDefinition[];
  quarantine: Quarantine;
  bus: EventBus;
  /** Bytes; a larger payload is quarantined before decoding. */
  maxPayloadBytes: number;
  context: StepContext;
  steps?: readonly Step[];
  /** Metadata decoders learn (Homie units, Zigbee2MQTT exposes); bounded. */
  meta?: MetaCache;
}

export interface IngestResult {
  readings: readonly Reading[];
  rejected: number;
  /** False when no decoder handles the topic. */
  handled: boolean;
  /** Readings report-on-change dropped: the sensor is alive, nothing new is stored. */
  suppressed: readonly Reading[];
  /** What the message said about device availability (LWT, status topics). */
  availability: readonly AvailabilityNote[];
  /** Readings identical to the previous one of their series (same device time and value): not stored again. */
  duplicates: number;
}

/** Shared by results that have none: nothing is allocated for what most messages lack. */
const NONE: readonly never[] = Object.freeze([]);
const UNHANDLED: IngestResult = Object.freeze({
  readings: NONE,
  rejected: 0,
  handled: false,
  suppressed: NONE,
  availability: NONE,
  duplicates: 0,
});
/** A message quarantined as a whole: nothing of it goes on. */
const REJECTED: IngestResult = Object.freeze({ ...UNHANDLED, rejected: 1, handled: true });
/** A message its decoder read and found nothing to store in (a status topic, say). */
const NOTHING: IngestResult = Object.freeze({ ...UNHANDLED, handled: true });

/**
 * decode -> validate ids -> number -> metric -> unit -> calibrate -> range -> time -> admit
 * (registry caps) -> series (unique times, resends) -> tags -> report-on-change.
 * One message may give several readings; a bad sensor value is quarantined on its
 * own and its siblings still go through.
 */
export class Pipeline {
  readonly steps: readonly Step[];
  readonly #decodeCtx: DecodeContext;
  constructor(private readonly opts: PipelineOptions) {
    this.steps = opts.steps ?? STEPS;
    this.#decodeCtx = { meta: opts.meta ?? new MetaCache() };
  }

  decoderFor(levels: readonly string[]): DecoderDefinition | undefined {
    for (const d of this.opts.decoders) if (d.match(levels)) return d;
    return undefined;
  }

  ingest(msg: RawMessage): IngestResult {
    const levels = msg.topic.split('/');
    const decoder = this.decoderFor(levels);
    if (!decoder) return UNHANDLED;
    // deviceOf only names the device of a quarantine entry: asked on rejection, not per message.
    if (msg.payload.length > this.opts.maxPayloadBytes) {
      this.opts.quarantine.add(
        msg,
        decoder.deviceOf(levels),
        'payload_too_large',
        `payload of ${msg.payload.length} bytes is over the limit of ${this.opts.maxPayloadBytes} (mqtt.maxPayloadBytes)`,
      );
      return REJECTED;
    }
    let decoded: DecodeResult;
    try {
      decoded = asResult(decoder.decode(msg, levels, this.#decodeCtx));
    } catch (err) {
      // Any failure of a decoder on hostile input is the payload's fault, not the
      // hub's: it is quarantined, never thrown into the broker.
      const e =
        err instanceof RejectError
          ? err
          : new RejectError('invalid_shape', `${decoder.name} could not read it: ${(err as Error).message}`);
      this.opts.quarantine.add(msg, decoder.deviceOf(levels), e.reason, e.message);
      return REJECTED;
    }
    return this.#runAll(decoded.candidates, msg, decoded.availability ?? NONE);
  }

  /**
   * For in-process sources (boards, simulators) that already hold candidates: the
   * same steps as ingest() without a JSON round trip. A rejected candidate is
   * quarantined with a synthetic topic `<source>/<device>/<sensor>` and its value as payload.
   */
  ingestCandidates(
    candidates: readonly Candidate[],
    source: ReadingSource,
    receivedAt = Date.now(),
  ): IngestResult {
    if (candidates.length === 0) return NOTHING;
    const first = candidates[0]!;
    const msg: RawMessage = {
      topic: `${source}/${first.device}/${first.sensor}`,
      get payload() {
        return Buffer.from(
          JSON.stringify(candidates.map((c) => ({ sensor: c.sensor, value: c.value, unit: c.unit }))),
        );
      },
      receivedAt,
      source,
    };
    return this.#runAll(candidates, msg, NONE);
  }

  #runAll(
    candidates: readonly Candidate[],
    msg: RawMessage,
    availability: readonly AvailabilityNote[],
  ): IngestResult {
    const readings: Reading[] = [];
    let suppressed: Reading[] | undefined;
    let rejected = 0;
    let duplicates = 0;
    for (const c of candidates) {
      const d = this.#run(c, msg);
      if (d instanceof RejectError) {
        rejected++;
        this.opts.quarantine.add(msg, c.device, d.reason, `${c.sensor}: ${d.message}`);
        continue;
      }
      if (d.duplicate) {
        duplicates++;
        continue;
      }
      const r: Reading = {
        device: d.device,
        sensor: d.sensor,
        metric: d.metric,
        value: d.value,
        unit: d.unit,
        ts: d.ts,
        source: d.source,
        quality: d.quality,
      };
      if (d.tags) r.tags = d.tags;
      if (!d.suppressed) readings.push(r);
      else if (suppressed) suppressed.push(r);
      else suppressed = [r];
    }
    if (readings.length > 0) this.opts.bus.emit('readings', readings);
    return { readings, rejected, handled: true, suppressed: suppressed ?? NONE, availability, duplicates };
  }

  /** Runs the steps over one candidate: the finished draft, or why it was refused. */
  #run(c: Candidate, msg: RawMessage): Draft | RejectError {
    const d: Draft = {
      device: c.device,
      sensor: c.sensor,
      metric: '',
      value: Number.NaN,
      unit: '',
      ts: msg.receivedAt,
      source: msg.source,
      quality: c.quality ?? 'good',
      candidate: c,
      receivedAt: msg.receivedAt,
    };
    try {
      for (const step of this.steps) {
        step.run(d, this.opts.context);
        if (d.suppressed || d.duplicate) break;
      }
    } catch (err) {
      if (err instanceof RejectError) return err;
      throw err;
    }
    return d;
  }
}
