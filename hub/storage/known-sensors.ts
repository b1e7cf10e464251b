import type { InfluxHttp } from './influx-http.js';

export interface KnownSensor {
  device: string;
  sensor: string;
  metric: string;
  unit: string;
  source: string;
  value: number;
  ts: number;
}

/**
 * The last reading of every device/sensor stored in the last `withinMs`, so a hub
 * that restarts knows its devices before they speak again (charts stay full after a
 * restart: FlowFuse/node-red-dashboard issue 1352). One query over every
 * measurement; `last()` per series is cheap for InfluxDB (it reads the newest block).
 */
export async function loadKnownSensors(influx: InfluxHttp, withinMs: number): Promise<KnownSensor[]> {
  const within = Math.max(1, Math.floor(withinMs));
  const q = `SELECT last(value) FROM /.*/ WHERE time > now() - ${within}ms GROUP BY device, sensor, unit, source`;
  const out: KnownSensor[] = [];
  for (const s of await influx.query(q)) {
    const row = s.values[0];
    const t = s.tags ?? {};
    if (!row || !t.device || !t.sensor) continue;
    out.push({
      device: t.device,
      sensor: t.sensor,
      metric: s.name,
      unit: t.unit ?? '',
      source: t.source ?? 'mqtt',
      ts: Number(row[0]),
      value: Number(row[1]),
    });
  }
  return out;
}
