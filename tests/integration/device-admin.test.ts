// Removing, renaming and exporting devices on a real hub: real influxd, the hub's broker on a
// TCP port, mqtt.js and mosquitto_sub as outside clients, restarts on the same data folder.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubConfigInput } from '../../hub/config/schema.js';
import type { HubHandle } from '../../hub/hub.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd, uniqueDb } from '../support/influxd.js';

const run = promisify(execFile);
let influx: TestInfluxd;
let hub: HubHandle;
const database = uniqueDb('admin');
const dataDir = mkdtempSync(join(tmpdir(), 'hub-admin-'));
const CONFIG: HubConfigInput = {
  influx: { database },
  dataDir,
  homeassistant: { discovery: true },
  devices: [{ id: 'declared-1', name: 'Declared', tags: { site: 'north' } }],
};
const PROTO = () =>
  Object.getOwnPropertyNames(Object.prototype).map((k) => [
    k,
    Object.getOwnPropertyDescriptor(Object.prototype, k)?.value,
  ]);
const protoBefore = PROTO();

const api = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${hub.httpUrl}${path}`, init);
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    // biome-ignore lint/suspicious/noExplicitAny: answers of several shapes, each checked by its assertions
    json: () => JSON.parse(text) as Record<string, any>,
  };
};
const patch = (id: string, body: unknown) =>
  api(`/api/devices/${encodeURIComponent(id)}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const del = (id: string) => api(`/api/devices/${encodeURIComponent(id)}`, { method: 'DELETE' });
const restart = async () => {
  await hub.flush();
  await hub.stop();
  hub = await startTestHub(influx.url, CONFIG);
};

/** The retained messages a new subscriber gets on these filters, as "topic payload" lines. */
async function retained(...filters: string[]): Promise<string[]> {
  const args = ['-h', '127.0.0.1', '-p', new URL(hub.mqttUrl).port, '-v', '--retained-only', '-W', '2'];
  for (const f of filters) args.push('-t', f);
  let out: string;
  try {
    out = (await run('mosquitto_sub', args)).stdout;
  } catch (err) {
    // -W ends it with status 27 once no more retained messages come.
    out = (err as { stdout?: string }).stdout ?? '';
  }
  return out.split('\n').filter((l) => l.trim() !== '');
}

async function publish(device: string, sensor: string, values: readonly number[]): Promise<void> {
  const client = await mqtt.connectAsync(hub.mqttUrl, { reconnectPeriod: 0 });
  for (const v of values) await client.publishAsync(`sensors/${device}/${sensor}`, String(v), { qos: 1 });
  await client.endAsync();
}

beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url, CONFIG);
});
afterAll(async () => {
  await hub?.stop();
  await influx?.stop();
  expect(PROTO()).toEqual(protoBefore);
});

describe('DELETE /api/devices/:id', () => {
  it('removes a device, clears its retained availability and discovery configs, keeps its history', async () => {
    await publish('gone-1', 'temperature', [21.5]);
    await publish('gone-1', 'humidity', [40]);
    await eventually(() => Object.keys(hub.registry.get('gone-1')?.sensors ?? {}).length === 2);
    await hub.flush();
    const before = await retained('homeassistant/#', 'hub/devices/gone-1/availability');
    expect(before.filter((l) => l.includes('/gone-1/')).length).toBe(3);
    expect(before).toContain('hub/devices/gone-1/availability online');

    // The live stream tells its clients, so a dashboard drops the device from its view.
    const stream = await fetch(`${hub.httpUrl}/api/stream?device=gone-1`);
    const reader = stream.body!.getReader();
    let streamed = '';
    const removedEvent = (async () => {
      while (!streamed.includes('event: removed')) {
        const { value, done } = await reader.read();
        if (done) break;
        streamed += new TextDecoder().decode(value);
      }
    })();

    const res = await del('gone-1');
    expect(res.status).toBe(200);
    await removedEvent;
    expect(streamed).toContain('event: removed\ndata: {"device":"gone-1"}');
    await reader.cancel();
    expect(res.json()).toEqual({ removed: 'gone-1', sensors: 2 });
    expect((await api('/api/devices/gone-1')).status).toBe(404);
    expect((await api('/api/devices')).json().devices.map((d: { id: string }) => d.id)).not.toContain(
      'gone-1',
    );
    const after = await retained('homeassistant/#', 'hub/devices/gone-1/availability');
    expect(after.filter((l) => l.includes('gone-1'))).toEqual([]);
    // History stays in InfluxDB.
    expect(await influx.count(database, 'temperature')).toBeGreaterThanOrEqual(1);
    const stored = await influx.query(database, `SELECT value FROM "temperature" WHERE device = 'gone-1'`);
    expect(stored[0]?.values.length).toBe(1);
    const onDisk = JSON.parse(readFileSync(join(dataDir, 'removed-devices.json'), 'utf8'));
    expect(Object.keys(onDisk.devices)).toEqual(['gone-1']);
  });

  it('refuses a device the config declares with 409 and says where to remove it', async () => {
    const res = await del('declared-1');
    expect(res.status).toBe(409);
    expect(res.json()).toEqual({
      error: 'HUB_CONFLICT',
      message:
        'device declared-1 is declared in the config (devices or boards): remove it there and restart the hub',
    });
    expect(hub.registry.has('declared-1')).toBe(true);
  });

  it('answers 404 for an unknown device and 400 for an id that is not one', async () => {
    expect((await del('nobody')).json()).toEqual({ error: 'HUB_NOT_FOUND', message: 'no device nobody' });
    const bad = await del("x' OR 1=1");
    expect(bad.status).toBe(400);
    expect(bad.json().error).toBe('HUB_BAD_REQUEST');
    for (const key of ['__proto__', 'constructor', 'toString']) expect((await del(key)).status).toBe(404);
  });

  it('keeps the removal across a restart; a device that publishes again comes back as new', async () => {
    await publish('kept-1', 'temperature', [19]);
    await eventually(() => hub.registry.has('kept-1'));
    await restart();
    const list = (await api('/api/devices')).json();
    const ids = list.devices.map((d: { id: string }) => d.id);
    expect(ids).toContain('kept-1');
    expect(ids).not.toContain('gone-1');
    // Restored devices wait for their first reading, and they are counted.
    expect(list.devices.find((d: { id: string }) => d.id === 'kept-1').state).toBe('waiting');
    const { total, ...byState } = list.counts;
    expect(total).toBe(list.devices.length);
    expect(Object.values(byState).reduce((a: number, b) => a + (b as number), 0)).toBe(total);
    expect(byState.waiting).toBe(list.devices.filter((d: { state: string }) => d.state === 'waiting').length);
    expect((await api('/api/hub')).json().deviceStates).toEqual(byState);

    await publish('gone-1', 'temperature', [23]);
    await eventually(() => hub.registry.get('gone-1')?.state === 'online');
    // New: only the sensor it sent since, none of what it had before the removal.
    expect(Object.keys(hub.registry.get('gone-1')!.sensors)).toEqual(['temperature']);
    expect(hub.registry.get('gone-1')!.sensors.temperature!.value).toBe(23);
    await eventually(() => {
      const f = JSON.parse(readFileSync(join(dataDir, 'removed-devices.json'), 'utf8'));
      return Object.keys(f.devices).length === 0;
    });
    await restart();
    expect(hub.registry.has('gone-1')).toBe(true);
  });
});

describe('PATCH /api/devices/:id', () => {
  it('sets the display name and labels, served by /api/devices and kept across a restart', async () => {
    const res = await patch('kept-1', {
      name: 'Kitchen',
      tags: { room: 'north', constructor: 'plain', toString: 'x' },
    });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      id: 'kept-1',
      name: 'Kitchen',
      tags: { room: 'north', constructor: 'plain' },
    });
    await restart();
    const d = (await api('/api/devices/kept-1')).json();
    expect(d.name).toBe('Kitchen');
    expect(d.tags).toEqual({ room: 'north', constructor: 'plain', toString: 'x' });
    // A merge patch: null removes, the rest stays.
    const next = (await patch('kept-1', { tags: { toString: null } })).json();
    expect(next.tags).toEqual({ room: 'north', constructor: 'plain' });
    expect(next.name).toBe('Kitchen');
    const cleared = (await patch('kept-1', { name: null })).json();
    expect(cleared.name).toBeUndefined();
    expect(PROTO()).toEqual(protoBefore);
  });

  it('announces a new name to Home Assistant', async () => {
    await publish('named-1', 'temperature', [20]);
    await eventually(() => hub.registry.get('named-1')?.state === 'online');
    expect((await patch('named-1', { name: 'Porch' })).status).toBe(200);
    const configs = await retained('homeassistant/+/named-1/+/config');
    expect(configs).toHaveLength(1);
    expect(JSON.parse(configs[0]!.slice(configs[0]!.indexOf(' ') + 1)).device.name).toBe('Porch');
  });

  it('refuses hostile and malformed bodies with a clear 400 and changes nothing', async () => {
    const before = (await api('/api/devices/kept-1')).json();
    const cases: Array<[unknown, RegExp]> = [
      // The JSON parser refuses these keys outright, before any schema sees them.
      ['{"tags": {"__proto__": {"polluted": "yes"}}}', /not valid JSON/],
      ['{"constructor": {"prototype": {"polluted": "yes"}}}', /not valid JSON/],
      [{ name: 'x'.repeat(65) }, /^name: expected text of 1 to 64/],
      [{ name: 'a\u0000b' }, /^name:/],
      [{ name: '   ' }, /^name:/],
      [{ name: 5 }, /^name:/],
      [{ tags: { 'a b': 'x' } }, /^tags: a tag name/],
      [{ tags: { ok: 'line\nbreak' } }, /^tags\.ok:/],
      [{ tags: { ok: 'v'.repeat(129) } }, /^tags\.ok:/],
      [{ tags: ['a'] }, /^tags: expected an object/],
      [{ tags: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`t${i}`, 'v'])) }, /at most 32/],
      [{ other: 1 }, /unknown field "other"/],
      ['[1,2]', /expected a JSON object/],
      ['{"name": "trunc', /JSON|body/i],
      [`{"name": "${'x'.repeat(20_000)}"}`, /too large|body/i],
    ];
    for (const [body, message] of cases) {
      const res = await patch('kept-1', body);
      expect(res.status, String(body).slice(0, 60)).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.json().error).toBe('HUB_BAD_REQUEST');
      expect(res.json().message, String(body).slice(0, 60)).toMatch(message);
    }
    expect((await api('/api/devices/kept-1')).json()).toEqual({ ...before, lastSeen: expect.anything() });
    expect(PROTO()).toEqual(protoBefore);
  });

  it('keeps config tags to the config (409) and answers 404 for an unknown device', async () => {
    const res = await patch('declared-1', { tags: { site: 'south' } });
    expect(res.status).toBe(409);
    expect(res.json().message).toMatch(/tag site of device declared-1 is set in the config/);
    // The display name of a declared device may change; its config name is the default.
    expect((await patch('declared-1', { name: 'Front door' })).json().name).toBe('Front door');
    expect((await patch('declared-1', { name: null })).json().name).toBe('Declared');
    expect((await patch('nobody', { name: 'x' })).status).toBe(404);
  });
});

describe('CSV export', () => {
  it('exports raw and aggregated history as RFC 4180 with a header, a file name and guarded cells', async () => {
    // The 10-minute interval before the current one (InfluxDB aligns intervals to the epoch).
    const base = Math.floor(Date.now() / 600_000) * 600_000 - 600_000;
    for (const [i, v] of [22.54, 22.54, 22.54, 22.5, 22.58].entries())
      hub.ingest({
        topic: 'sensors/-calc/temperature',
        payload: Buffer.from(JSON.stringify({ value: v, ts: base + (i + 1) * 10_000 })),
        receivedAt: Date.now(),
        source: 'mqtt',
      });
    await hub.flush();
    // A name a spreadsheet would run as a formula, with a quote and a comma in it.
    const name = `=cmd|' /C calc'!A0,"x"`;
    expect((await patch('-calc', { name })).status).toBe(200);

    const raw = await api(`/api/readings?device=-calc&sensor=temperature&from=${base}&format=csv`);
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(raw.headers.get('content-disposition')).toMatch(
      /^attachment; filename="-calc_temperature_\d{8}T\d{6}Z_\d{8}T\d{6}Z\.csv"$/,
    );
    expect(raw.text.endsWith('\r\n')).toBe(true);
    const rows = parse(raw.text, { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(5);
    expect(rows[0]).toEqual({
      time: new Date(base + 10_000).toISOString(),
      ts: String(base + 10_000),
      device: "'-calc",
      name: `'${name}`,
      sensor: 'temperature',
      metric: 'temperature',
      unit: 'Cel',
      value: '22.54',
    });

    const agg = await api(`/api/readings?device=-calc&sensor=temperature&from=${base}&every=10m&format=csv`);
    const [header, ...lines] = parse(agg.text) as string[][];
    expect(header).toEqual([
      'time',
      'ts',
      'device',
      'name',
      'sensor',
      'metric',
      'unit',
      'mean',
      'min',
      'max',
      'count',
    ]);
    expect(lines.reduce((n, l) => n + Number(l[10]), 0)).toBe(5);
    expect(lines.map((l) => l[7])).toEqual(['22.54']);

    // JSON means to 6 significant digits: three readings of 22.54 are 22.54, not 22.540000000000003.
    const json = (
      await api(`/api/readings?device=-calc&sensor=temperature&from=${base}&to=${base + 35_000}&every=10m`)
    ).json();
    expect((22.54 + 22.54 + 22.54) / 3).toBe(22.540000000000003);
    expect(json.points.map((p: { mean: number }) => p.mean)).toEqual([22.54]);

    const bad = await api('/api/readings?device=-calc&sensor=temperature&format=xlsx');
    expect(bad.json()).toEqual({ error: 'HUB_BAD_REQUEST', message: 'format: expected json or csv' });
  });

  it('refuses an id that is a formula before anything is stored', async () => {
    hub.ingest({
      topic: `sensors/=cmd|' /C calc'!A0/temperature`,
      payload: Buffer.from('1'),
      receivedAt: Date.now(),
      source: 'mqtt',
    });
    expect(hub.registry.list().some((d) => d.id.startsWith('='))).toBe(false);
  });
});

describe('device files', () => {
  it('hold the old or the new state when the process is killed while writing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-kill-'));
    const file = join(dir, 'device-settings.json');
    const mod = fileURLToPath(new URL('../../hub/storage/json-file.ts', import.meta.url));
    // Writes ever larger files, one after the other, until killed.
    const script = `import { writeJsonAtomic } from ${JSON.stringify(mod)};
      for (let i = 1; ; i++) await writeJsonAtomic(${JSON.stringify(file)}, { devices: { a: { name: 'x'.repeat(i * 5000) } }, i });`;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: 'ignore',
      });
      await eventually(
        () => existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).i > round * 3 + 2,
        20_000,
      );
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const body = JSON.parse(readFileSync(file, 'utf8'));
      expect(body.devices.a.name).toHaveLength(body.i * 5000);
    }
    // A temporary file a killed writer left behind is never read as the state.
    expect(readdirSync(dir).filter((f) => !f.endsWith('.tmp'))).toEqual(['device-settings.json']);
  });
});
