import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../hub/config/load.js';
import type { Reading } from '../../hub/core/reading.js';
import { startTestHttp, type TestHttp } from '../support/http-app.js';

let http: TestHttp | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await http?.stop();
  http = undefined;
});

/** Opens /api/stream on a socket; resolves with the status line and headers once they arrive. */
function openStream(port: number, opts: { read?: boolean } = {}) {
  const s = net.connect(port, '127.0.0.1');
  sockets.push(s);
  let text = '';
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  const head = new Promise<{ status: number; head: string; body: () => string }>((resolve, reject) => {
    s.on('connect', () => s.write('GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.setEncoding('latin1');
    const onData = (d: string) => {
      if (text.length < 64 * 1024) text += d;
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      // A client that never reads stops here: the kernel's buffers fill, then the hub's.
      if (opts.read === false) {
        s.off('data', onData);
        s.pause();
      }
      resolve({ status, head: text.slice(0, end), body: () => text.slice(end + 4) });
    };
    s.on('data', onData);
    s.on('error', reject);
  });
  return { socket: s, head, closed };
}

const readings = (n: number, from: number): Reading[] =>
  Array.from({ length: n }, (_, i) => ({
    device: `d${(from + i) % 50}`,
    sensor: 'temperature',
    metric: 'temperature',
    value: from + i,
    unit: 'Cel',
    ts: Date.now(),
    source: 'mqtt' as const,
    quality: 'good' as const,
  }));

describe('live stream clients', () => {
  it('answers 503 in the error shape past http.maxStreamClients, and frees a slot on close', async () => {
    http = await startTestHttp({ maxStreamClients: 2 });
    const a = openStream(http.port);
    const b = openStream(http.port);
    expect((await a.head).status).toBe(200);
    expect((await b.head).status).toBe(200);
    const c = openStream(http.port);
    const third = await c.head;
    expect(third.status).toBe(503);
    expect(third.head).toMatch(/retry-after: 10/i);
    await new Promise((r) => setTimeout(r, 50));
    expect(JSON.parse(third.body().replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, ''))).toEqual({
      error: 'HUB_STREAM_FULL',
      message: expect.stringContaining('http.maxStreamClients'),
    });

    a.socket.destroy();
    await a.closed;
    await new Promise((r) => setTimeout(r, 50));
    const d = openStream(http.port);
    expect((await d.head).status).toBe(200);
    // The clients still served get readings.
    http.bus.emit('readings', readings(1, 0));
    await new Promise((r) => setTimeout(r, 50));
    expect((await b.head).body()).toContain('event: reading');
  });

  it('drops a client that never reads once its buffer stays over the bound, and keeps serving the others', async () => {
    http = await startTestHttp({
      maxStreamClients: 2,
      stream: { maxBufferedBytes: 64 * 1024, stallMs: 200 },
    });
    const stuck = openStream(http.port, { read: false });
    expect((await stuck.head).status).toBe(200);
    const reader = openStream(http.port);
    expect((await reader.head).status).toBe(200);

    // A paused client does not see its socket closed (the FIN waits behind unread
    // bytes), so the drop shows as the hub's connection count going from 2 to 1.
    const connections = () =>
      new Promise<number>((r, j) => http!.app.server.getConnections((e, n) => (e ? j(e) : r(n))));
    expect(await connections()).toBe(2);
    let dropped = false;
    // At most about 60 MB of frames: far more than the kernel's socket buffers hold.
    for (let batch = 0; batch < 300 && !dropped; batch++) {
      http.bus.emit('readings', readings(1000, batch * 1000));
      await new Promise((r) => setTimeout(r, 5));
      dropped = (await connections()) === 1;
    }
    expect(dropped).toBe(true);

    // Its slot is free again, and the client that reads was served throughout.
    const next = openStream(http.port);
    expect((await next.head).status).toBe(200);
    expect((await reader.head).body()).toContain('event: reading');
  });
});

describe('http.maxStreamClients', () => {
  it('defaults to 100 and is set by HUB_HTTP_MAX_STREAM_CLIENTS', () => {
    expect(loadConfig({ env: {} }).http.maxStreamClients).toBe(100);
    expect(loadConfig({ env: { HUB_HTTP_MAX_STREAM_CLIENTS: '7' } }).http.maxStreamClients).toBe(7);
    expect(() => loadConfig({ env: { HUB_HTTP_MAX_STREAM_CLIENTS: '0' } })).toThrow(/maxStreamClients/);
  });
});
