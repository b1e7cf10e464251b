import mqtt, { type MqttClient } from 'mqtt';

export interface LoadOptions {
  url: string;
  clients: number;
  /** Messages per second per client. */
  rate: number;
  qos: 0 | 1;
  /** Sensors per client; a series gets a reading every `sensors / rate` seconds. */
  sensors?: number;
  device?: string;
}

/**
 * Steady MQTT load for durability tests. Every message carries its own device time
 * (unique per series), so a replayed or repeated point lands on the same series and
 * timestamp and counts once: the counts in InfluxDB are exact whatever the timing.
 */
export class Load {
  readonly acked = new Map<string, Set<number>>();
  sent = 0;
  ackedCount = 0;
  #clients: MqttClient[] = [];
  #timers: NodeJS.Timeout[] = [];
  readonly #base = Date.now() - 3_600_000;

  constructor(readonly opts: LoadOptions) {}

  async start(): Promise<void> {
    const { opts } = this;
    const sensors = opts.sensors ?? 20;
    for (let c = 0; c < opts.clients; c++) {
      const device = `${opts.device ?? 'load'}${c}`;
      const client = await mqtt.connectAsync(opts.url, {
        reconnectPeriod: 0,
        clientId: `${device}-${process.pid}`,
      });
      client.on('error', () => undefined);
      this.#clients.push(client);
      let seq = 0;
      const tick = 10;
      const perTick = Math.max(1, Math.round((opts.rate * tick) / 1000));
      this.#timers.push(
        setInterval(() => {
          if (!client.connected) return;
          for (let k = 0; k < perTick; k++) {
            const i = seq++;
            const sensor = `s${i % sensors}`;
            const payload = JSON.stringify({ value: i, ts: this.#base + i });
            this.sent++;
            client.publish(`sensors/${device}/${sensor}`, payload, { qos: opts.qos }, (err) => {
              if (err) return;
              this.ackedCount++;
              const key = `${device}/${sensor}`;
              let set = this.acked.get(key);
              if (!set) {
                set = new Set();
                this.acked.set(key, set);
              }
              set.add(i);
            });
          }
        }, tick),
      );
    }
  }

  /** Stops publishing and waits (bounded) for outstanding acknowledgements. */
  async stop(waitMs = 10_000): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    const deadline = Date.now() + waitMs;
    while (this.opts.qos === 1 && this.ackedCount < this.sent && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await Promise.all(this.#clients.map((c) => c.endAsync(true).catch(() => undefined)));
    this.#clients = [];
  }

  /** Drops the connections without waiting (the hub went away). */
  abandon(): void {
    for (const t of this.#timers) clearInterval(t);
    for (const c of this.#clients) c.end(true);
    this.#timers = [];
    this.#clients = [];
  }
}
