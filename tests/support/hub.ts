import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../hub/config/load.js';
import type { HubConfigInput } from '../../hub/config/schema.js';
import type { RawMessage } from '../../hub/core/raw-message.js';
import { type HubHandle, type StartOptions, startHub } from '../../hub/hub.js';
import { uniqueDb } from './influxd.js';

/**
 * A hub on free ports, writing to the given InfluxDB, with its own database and data folder;
 * `extra` is merged over those (the environment is not read).
 */
export async function startTestHub(
  influxUrl: string,
  extra: HubConfigInput = {},
  opts: StartOptions = {},
): Promise<HubHandle & { database: string }> {
  const config = loadConfig({
    env: {},
    defaults: {
      mqtt: { port: 0 },
      http: { port: 0 },
      influx: { url: influxUrl, flushInterval: 50, database: uniqueDb() },
      dataDir: mkdtempSync(join(tmpdir(), 'hub-data-')),
    },
    overrides: extra,
  });
  const hub = await startHub(config, {
    logger: pino({ level: process.env.HUB_TEST_LOG ?? 'silent' }),
    ...opts,
  });
  return Object.assign(hub, { database: config.influx.database });
}

/** Polls until fn returns a truthy value or the time runs out (bounded, for eventually-true checks). */
export async function eventually<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 5000,
  stepMs = 25,
): Promise<Exclude<T, undefined | null | false | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Exclude<T, undefined | null | false | 0 | ''>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A message as the broker hands it to ingest, from an MQTT publisher. */
export const mqttMessage = (topic: string, payload: string, clientId?: string): RawMessage => ({
  topic,
  payload: Buffer.from(payload),
  receivedAt: Date.now(),
  source: 'mqtt',
  ...(clientId ? { clientId } : {}),
});
