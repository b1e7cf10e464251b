import uPlot from 'uplot';
import { getJson, type HubStatus } from '../api.js';
import { h, type Unmount } from '../dom.js';
import type { LiveStore } from '../live.js';

const POLL_MS = 2000;
const KEEP = 150; // 5 minutes of samples

/** The hub itself: ingest and storage rates, write queue and spool, InfluxDB, MQTT. */
export function mountHealth(root: HTMLElement, store: LiveStore): Unmount {
  const tiles = h('div', { class: 'tiles' });
  const plotBox = h('div', { class: 'plot' });
  const error = h('p', { class: 'error', hidden: '' });
  root.append(h('h2', {}, 'Hub'), error, tiles, h('h3', {}, 'Readings per second (last 5 minutes)'), plotBox);
  const xs: number[] = [];
  const ingest: number[] = [];
  const stored: number[] = [];
  let plot: uPlot | undefined;

  const tile = (key: string, label: string, value: string, bad = false) =>
    h(
      'div',
      { class: `tile${bad ? ' bad' : ''}`, 'data-tile': key },
      h('span', { class: 'label' }, label),
      h('b', {}, value),
    );

  const poll = async () => {
    try {
      const s = await getJson<HubStatus>('/api/hub');
      error.hidden = true;
      const states = { online: 0, stale: 0, offline: 0 } as Record<string, number>;
      for (const d of store.devices.values()) states[d.state] = (states[d.state] ?? 0) + 1;
      tiles.replaceChildren(
        tile('ingest', 'Ingest', `${s.current.readingsPerSec.toFixed(1)} /s`),
        tile('stored', 'Stored', `${s.current.storedPerSec.toFixed(1)} /s`),
        tile('influx', 'InfluxDB', s.influx.reachable ? 'up' : 'down', !s.influx.reachable),
        tile('queue', 'Write queue', String(s.influx.queued), s.influx.queued > 10_000),
        tile(
          'spool',
          'Spool',
          s.influx.spoolBytes === undefined ? '–' : `${(s.influx.spoolBytes / 1e6).toFixed(1)} MB`,
        ),
        tile('clients', 'MQTT clients', String(s.mqtt.clients)),
        tile(
          'devices',
          'Devices',
          `${s.devices} (${states.online} online, ${states.stale} stale, ${states.offline} offline)`,
        ),
        tile('quarantined', 'Quarantined', String(s.quarantined), s.current.quarantinedPerSec > 0),
        tile(
          'stream',
          'Live stream',
          store.connected ? `connected · ${store.received} readings` : 'reconnecting',
          !store.connected,
        ),
        ...(s.influx.lastError ? [tile('error', 'Last write error', s.influx.lastError, true)] : []),
      );
      xs.push(s.now / 1000);
      ingest.push(s.current.readingsPerSec);
      stored.push(s.current.storedPerSec);
      if (xs.length > KEEP) for (const a of [xs, ingest, stored]) a.shift();
      const data: uPlot.AlignedData = [xs, ingest, stored];
      if (!plot) {
        plot = new uPlot(
          {
            width: Math.max(300, plotBox.clientWidth || 800),
            height: 200,
            // A fixed 5-minute window: a few seconds of samples would otherwise be stretched edge to edge.
            scales: {
              x: {
                time: true,
                range: () => [Date.now() / 1000 - (KEEP * POLL_MS) / 1000, Date.now() / 1000],
              },
            },
            series: [
              {},
              { label: 'ingest', stroke: '#2f7ed8', width: 2 },
              { label: 'stored', stroke: '#3a9d5d', width: 1.5 },
            ],
          },
          data,
          plotBox,
        );
      } else plot.setData(data);
    } catch (err) {
      error.textContent = `hub not answering: ${(err as Error).message}`;
      error.hidden = false;
    }
  };
  void poll();
  const timer = setInterval(poll, POLL_MS);
  return () => {
    clearInterval(timer);
    plot?.destroy();
  };
}
