import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InfluxHttp } from '../../hub/storage/influx-http.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const servers: http.Server[] = [];
const clients: InfluxHttp[] = [];

/** A stand-in InfluxDB /query endpoint on a free port; `answers` are used in turn. */
async function fakeInflux(answers: Handler[]): Promise<{ client: InfluxHttp; seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push(`${req.method} ${u.searchParams.get('q') ?? new URLSearchParams(body).get('q')}`);
      const next = answers.shift();
      if (next) next(req, res);
      else res.writeHead(500).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new InfluxHttp({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    database: 'sensors',
  });
  clients.push(client);
  return { client, seen };
}

const json =
  (body: unknown, status = 200): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
const series = {
  results: [{ series: [{ name: 'temperature', columns: ['time', 'value'], values: [[1, 2]] }] }],
};

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

describe('InfluxDB queries through the influx client', () => {
  it('asks again at once after a dropped connection instead of answering "No host available"', async () => {
    const { client } = await fakeInflux([(req) => req.socket.destroy(), json(series)]);
    await expect(client.query('SELECT value FROM temperature')).rejects.toThrow(/InfluxDB query failed/);
    await expect(client.query('SELECT value FROM temperature')).resolves.toEqual(series.results[0]!.series);
  });

  it("says the server's own reason for a refused query, whether in the body or as a 400", async () => {
    const { client } = await fakeInflux([
      json({ results: [{ error: 'database not found: sensors' }] }),
      json({ error: 'error parsing query: found EOF' }, 400),
    ]);
    await expect(client.query('SELECT 1')).rejects.toThrow('InfluxDB: database not found: sensors');
    await expect(client.query('SELECT')).rejects.toThrow('InfluxDB: error parsing query: found EOF');
  });

  it('gives up on a query after its own timeout', async () => {
    const { client } = await fakeInflux([() => {}]);
    const t0 = Date.now();
    await expect(client.query('SELECT 1', 200)).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('sends administration as POST and names the database quoted', async () => {
    const { client, seen } = await fakeInflux([json({ results: [{}] })]);
    await client.ensureDatabase();
    expect(seen).toEqual(['POST create database "sensors"']);
  });
});
