// No password, token or credential-bearing URL in the logs, API answers or /healthz:
// the hub runs with every kind of secret set, is used right and wrong, and everything
// it logged (at trace level) and answered is searched for them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubHandle } from '../../hub/hub.js';
import { passwd } from '../../hub/security/passwd-cli.js';
import { startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

const SECRETS = {
  file: 'file-user-secret-4821',
  plain: 'plain-user-secret-9377',
  token: 'bearer-token-secret-5512',
  influx: 'influx-url-secret-2290',
  wrong: 'wrong-guess-secret-6604',
};

let influx: TestInfluxd;
let hub: HubHandle;
let logged = '';
const answers: string[] = [];

beforeAll(async () => {
  influx = await startTestInfluxd();
  const dir = mkdtempSync(join(tmpdir(), 'hub-secrets-'));
  const file = join(dir, 'passwd');
  await passwd({ file, user: 'ann', password: SECRETS.file, batch: true, create: true });
  const sink = new Writable({
    write(chunk, _enc, done) {
      logged += chunk.toString();
      done();
    },
  });
  const u = new URL(influx.url);
  hub = await startTestHub(
    influx.url,
    {
      dataDir: dir,
      influx: { url: `http://hub:${SECRETS.influx}@${u.host}` },
      mqtt: { passwordFile: file, users: [{ username: 'old', password: SECRETS.plain }] },
      http: { token: SECRETS.token, users: [{ username: 'ann', role: 'admin' }] },
    },
    { logger: pino({ level: 'trace' }, sink) },
  );
});
afterAll(async () => {
  await hub?.stop();
  await influx?.stop();
});

function headersOf(res: Response): string {
  const out: string[] = [];
  res.headers.forEach((v, k) => {
    out.push(`${k}: ${v}`);
  });
  return out.join('; ');
}

async function record(res: Response): Promise<Response> {
  answers.push(`${res.status} ${headersOf(res)} ${await res.clone().text()}`);
  return res;
}

describe('secrets', () => {
  it('appear in no log line, API answer or /healthz, whatever is tried', async () => {
    for (const [username, password] of [
      ['ann', SECRETS.wrong],
      ['old', SECRETS.wrong],
      ['nobody', SECRETS.file],
    ] as const) {
      const err = await mqtt
        .connectAsync(hub.mqttUrl, { reconnectPeriod: 0, username, password })
        .catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
    }
    for (const [username, password] of [
      ['ann', SECRETS.file],
      ['old', SECRETS.plain],
    ] as const) {
      const c = await mqtt.connectAsync(hub.mqttUrl, { reconnectPeriod: 0, username, password });
      await c.publishAsync('sensors/ann/t', '1', { qos: 1 });
      await c.endAsync();
    }
    const base = hub.httpUrl;
    const bearer = { authorization: `Bearer ${SECRETS.token}` };
    await record(
      await fetch(`${base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'ann', password: SECRETS.wrong }),
      }),
    );
    const ok = await record(
      await fetch(`${base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'ann', password: SECRETS.file }),
      }),
    );
    expect(ok.status).toBe(200);
    await record(await fetch(`${base}/api/devices?token=${SECRETS.wrong}`));
    await record(
      await fetch(`${base}/api/devices`, { headers: { authorization: `Bearer ${SECRETS.wrong}` } }),
    );
    for (const path of ['/healthz', '/api/hub', '/metrics', '/api/devices', '/api/quarantine', '/api/whoami'])
      expect((await record(await fetch(`${base}${path}`, { headers: bearer }))).status).toBe(200);
    await record(await fetch(`${base}/healthz`));
    await hub.flush();
    const health = answers.find((a) => a.includes('"influx"'))!;
    expect(health).toContain(new URL(influx.url).host);
    const everything = `${logged}\n${answers.join('\n')}`;
    // The log is not empty: the refusals were logged, without what was sent.
    expect(logged).toMatch(/bad_credentials/);
    for (const [name, secret] of Object.entries(SECRETS))
      expect(everything.includes(secret), name).toBe(false);
  });
});
