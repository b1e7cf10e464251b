import { pino } from 'pino';
import type { HubConfig } from '../../hub/config/schema.js';
import { EventBus } from '../../hub/core/bus.js';
import { formatPipelineParts } from '../../hub/device-support.js';
import { Pipeline } from '../../hub/pipeline/pipeline.js';
import { SeriesClock } from '../../hub/pipeline/series-clock.js';
import { Quarantine } from '../../hub/quarantine.js';

/** The pipeline a hub with this config runs, without the hub around it (silent log, 1 KiB payloads). */
export function pipelineOf(config: HubConfig) {
  const log = pino({ level: 'silent' });
  const bus = new EventBus(log);
  const { decoders, meta, ...context } = formatPipelineParts(config);
  const pipeline = new Pipeline({
    decoders,
    meta,
    quarantine: new Quarantine(bus, log),
    bus,
    maxPayloadBytes: 1024,
    context: { deviceTags: new Map(), clock: new SeriesClock(), ...context },
  });
  return { pipeline, context };
}
