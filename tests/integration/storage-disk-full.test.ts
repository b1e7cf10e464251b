import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually } from '../support/hub.js';
import { startHubChild } from '../support/hub-child.js';
import { startTestInfluxd, type TestInfluxd, uniqueDb } from '../support/influxd.js';

// A full disk under the spool: a small tmpfs needs root to mount.
const root = process.getuid?.() === 0;
if (!root) console.warn('storage-disk-full: skipped, mounting a tmpfs needs root');

let influx: TestInfluxd;
let fs: string;
let mounted = false;
beforeAll(async () => {
  if (!root) return;
  fs = mkdtempSync(join(tmpdir(), 'hub-smallfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', fs]);
  mounted = true;
  influx = await startTestInfluxd();
  await influx.proc.stop(); // down from the start; restarted on the same port at the end
});
afterAll(async () => {
  // Lazily: a hub child that failed to stop may still hold the spool open.
  if (mounted) execFileSync('umount', ['-l', fs]);
  if (fs) rmSync(fs, { recursive: true, force: true });
  await influx?.stop();
});

const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);

test.skipIf(!root)(
  'disk full under the spool: no PUBACK for what was not stored, lost QoS 0 counted, /healthz says why; after space returns every acknowledged reading is stored',
  async () => {
    const database = uniqueDb('full');
    const hub = await startHubChild({
      mqtt: { port: 0 },
      http: { port: 0 },
      influx: { url: influx.url, database, flushInterval: 50, timeout: 1000, maxRetryDelay: 500 },
      spool: { dir: join(fs, 'spool'), minFreeBytes: 1024 * 1024 },
      dataDir: mkdtempSync(join(tmpdir(), 'hub-full-')),
    });
    const clients: mqtt.MqttClient[] = [];
    try {
      const health = async () => {
        const res = await fetch(`${hub.httpUrl}/healthz`);
        return { status: res.status, body: (await res.json()) as { spool: { ok: boolean; error?: string } } };
      };
      const metrics = async () => (await fetch(`${hub.httpUrl}/metrics`)).text();
      // Leave about 4 MiB: 1 MiB the spool keeps free, and room for some 25,000 readings.
      const filler = join(fs, 'filler');
      const st = statfsSync(fs);
      writeFileSync(filler, Buffer.alloc(Math.max(0, st.bavail * st.bsize - 4 * 1024 * 1024)));

      // QoS 1: a window of publishes in flight; mqtt.js reconnects and resends what got no PUBACK.
      const q1 = mqtt.connect(hub.mqttUrl, { reconnectPeriod: 100, clientId: 'full-q1' });
      clients.push(q1);
      q1.on('error', () => undefined);
      let closes = 0;
      q1.on('close', () => closes++);
      const acked = new Set<number>();
      let issued = 0;
      let outstanding = 0;
      let q1On = true;
      /** Publishes mqtt.js gave up on (it fails them on a clean reconnect): sent again, as a device would. */
      const again: number[] = [];
      const pump = () => {
        while (outstanding < 50 && (again.length > 0 || q1On)) {
          const i = again.shift() ?? issued++;
          outstanding++;
          q1.publish('sensors/q1/s', JSON.stringify({ value: i }), { qos: 1 }, (err) => {
            outstanding--;
            if (err) again.push(i);
            else acked.add(i);
            setTimeout(pump, err ? 50 : 0);
          });
        }
      };
      q1.once('connect', pump);

      // QoS 0 at full speed from another connection.
      const q0 = await mqtt.connectAsync(hub.mqttUrl, { reconnectPeriod: 0, clientId: 'full-q0' });
      clients.push(q0);
      let q0Sent = 0;
      let q0On = true;
      const burst = () => {
        if (!q0On) return;
        for (let k = 0; k < 200; k++) q0.publish(`sensors/q0/s${k % 10}`, String(q0Sent++), { qos: 0 });
        setTimeout(burst, 5);
      };
      burst();

      // Full: /healthz says not ok and why; lost QoS 0 readings are counted.
      const full = await eventually(
        async () => {
          const h = await health();
          return h.body.spool.ok === false ? h : undefined;
        },
        20_000,
        100,
      );
      expect(full.status).toBe(503);
      expect(full.body.spool.error).toMatch(/^ENOSPC: \d+ bytes free on the spool's filesystem/);
      await eventually(
        async () => metric(await metrics(), /hub_readings_dropped_total\{reason="storage_error"\} (\d+)/) > 0,
        10_000,
      );
      await new Promise((r) => setTimeout(r, 1000));
      q0On = false;
      // The QoS 1 publisher was refused: its connection closed, without the PUBACKs.
      expect(closes).toBeGreaterThan(0);

      // Space returns: the hub commits again and acknowledges the resent publishes.
      rmSync(filler);
      await eventually(async () => (await health()).body.spool.ok === true, 15_000, 100);
      const before = acked.size;
      await eventually(() => acked.size > before + 100, 15_000);
      q1On = false;
      await eventually(() => {
        pump();
        return acked.size === issued && outstanding === 0;
      }, 15_000);
      await q0.endAsync();
      await q1.endAsync();

      await influx.restart();
      expect(await hub.flush()).toBe(0);
      const rows = await influx.query(database, `SELECT value FROM /.*/ WHERE device='q1'`);
      const stored = new Set(rows.flatMap((s) => s.values.map((v) => Number(v[1]))));
      const missing = [...acked].filter((i) => !stored.has(i));
      expect(missing).toEqual([]);

      // Every QoS 0 reading is stored or counted as dropped.
      const text = await metrics();
      const dropped =
        metric(text, /hub_readings_dropped_total\{reason="storage_error"\} (\d+)/) +
        metric(text, /hub_readings_dropped_total\{reason="spool_full"\} (\d+)/);
      expect(dropped).toBeGreaterThan(0);
      expect(metric(text, /hub_spool_commit_failures_total (\d+)/)).toBeGreaterThan(0);
      const q0Stored = (
        await influx.query(database, `SELECT count(value) FROM /.*/ WHERE device='q0'`)
      ).reduce((n, s) => n + Number(s.values[0]?.[1] ?? 0), 0);
      expect(q0Stored + dropped).toBe(q0Sent);

      const after = await health();
      expect(after.status).toBe(200);
      expect(after.body.spool).toEqual({ ok: true });
      expect(hub.problems).toEqual([]);
      expect(hub.proc.exitCode).toBeNull();
    } finally {
      for (const c of clients) c.end(true);
      await hub.kill();
    }
  },
  90_000,
);
