// The broker as a device's raw TCP connection sees it: the hub frames plain QoS 0
// publishes itself (hub/mqtt/framing.ts), so what Aedes would enforce for them must
// still hold, byte for byte.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';
import type { Packet } from '../support/mqtt-packet.js';
import * as mqttPacket from '../support/mqtt-packet.js';

let influx: TestInfluxd;
let hub: Awaited<ReturnType<typeof startTestHub>>;
let port: number;

beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url, { registry: { checkEvery: 0 } });
  port = Number(new URL(hub.mqttUrl).port);
});
afterAll(async () => {
  await hub?.stop();
  await influx?.stop();
});

const publish = (topic: string, payload: string) =>
  mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false } as Packet);

/** A device on a bare socket: CONNECT, then whatever bytes the test writes. */
async function device(clientId: string, keepalive = 30): Promise<{ sock: Socket; closed: Promise<void> }> {
  const sock = connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  sock.on('error', () => undefined);
  sock.write(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId,
      keepalive,
    } as Packet),
  );
  // CONNACK: 0x20 0x02 flags 0x00 (accepted)
  const connack = await new Promise<Buffer>((r) => sock.once('data', r));
  expect([...connack.subarray(0, 4)]).toEqual([0x20, 2, 0, 0]);
  return { sock, closed };
}

/** Every stored value of a device, over all its measurements. */
const values = async (device: string) =>
  (await influx.query(hub.database, `SELECT value FROM /.*/ WHERE device = '${device}'`)).flatMap(
    (series) => series.values,
  );

describe('plain QoS 0 publishes on the wire', () => {
  it('arrive whole however the bytes are split across TCP segments', async () => {
    const { sock } = await device('wire-split');
    const all = Buffer.concat(
      Array.from({ length: 20 }, (_, i) => publish(`sensors/wire_split/s${i}`, `${i}`)),
    );
    for (let i = 0; i < all.length; i += 7) {
      sock.write(all.subarray(i, i + 7));
      await new Promise((r) => setTimeout(r, 2));
    }
    const got = await eventually(async () => {
      await hub.flush();
      const v = await values('wire_split');
      return v.length === 20 ? v : undefined;
    });
    expect(got.map((row) => row[1]).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    sock.destroy();
  });

  it('to a topic only the hub may use end the connection and store nothing', async () => {
    const { sock, closed } = await device('wire-spoof');
    sock.write(publish('hub/readings/wire_spoof/temperature', '99'));
    await closed;
    await hub.flush();
    expect(await values('wire_spoof')).toEqual([]);
  });

  it('with a wildcard in the topic end the connection', async () => {
    const { sock, closed } = await device('wire-wild');
    sock.write(publish('sensors/+/temperature', '1'));
    await closed;
  });

  it('keep a device connected that sends nothing else, past 1.5 times its keepalive', async () => {
    const { sock, closed } = await device('wire-alive', 1);
    let open = true;
    void closed.then(() => {
      open = false;
    });
    for (let i = 0; i < 10 && open; i++) {
      sock.write(publish('sensors/wire_alive/temperature', `${20 + i}`));
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(open).toBe(true);
    sock.destroy();
  });

  it('from a device that stops sending are still dropped after 1.5 times its keepalive', async () => {
    const { sock, closed } = await device('wire-silent', 1);
    sock.write(publish('sensors/wire_silent/temperature', '20'));
    const t0 = Date.now();
    await closed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - t0).toBeLessThan(4000);
  });
});
