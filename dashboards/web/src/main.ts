import './style.css';
import { AlertFeed, firingSummary } from './alerts.js';
import type { Unmount } from './dom.js';
import { LiveStore } from './live.js';
import { DISPLAY_CHOICES, displayUnit, setDisplayUnit } from './units.js';
import { mountAlerts } from './views/alerts.js';
import { mountDevice } from './views/device.js';
import { mountHealth } from './views/health.js';
import { mountOverview } from './views/overview.js';
import { mountQuarantine } from './views/quarantine.js';

const store = new LiveStore();
const alerts = new AlertFeed();
const view = document.getElementById('view')!;
const conn = document.getElementById('conn')!;
let unmount: Unmount | undefined;

/** Hash routes: #/, #/device/<id>[/<sensor>], #/alerts, #/quarantine, #/hub. */
function route(): void {
  unmount?.();
  view.replaceChildren();
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  let nav = 'overview';
  if (parts[0] === 'device' && parts[1]) unmount = mountDevice(view, store, parts[1], parts[2], alerts);
  else if (parts[0] === 'alerts') {
    nav = 'alerts';
    unmount = mountAlerts(view, alerts);
  } else if (parts[0] === 'quarantine') {
    nav = 'quarantine';
    unmount = mountQuarantine(view, store);
  } else if (parts[0] === 'hub') {
    nav = 'hub';
    unmount = mountHealth(view, store);
  } else unmount = mountOverview(view, store);
  for (const a of document.querySelectorAll<HTMLElement>('[data-nav]'))
    a.classList.toggle('active', a.dataset.nav === nav);
}

for (const [canonical, choices] of Object.entries(DISPLAY_CHOICES)) {
  const sel = document.getElementById(
    canonical === 'Cel' ? 'unit-temperature' : 'unit-pressure',
  ) as HTMLSelectElement;
  for (const c of choices) sel.append(new Option(c.label, c.code, false, c.code === displayUnit(canonical)));
  sel.addEventListener('change', () => setDisplayUnit(canonical, sel.value));
}

store.subscribe(() => {
  conn.textContent = store.connected ? 'live' : store.tried ? 'reconnecting…' : 'connecting…';
  conn.className = `conn ${store.connected ? 'up' : store.tried ? 'down' : ''}`;
});

// The header counts firing alerts on every view, coloured by the worst severity.
const alertCount = document.getElementById('alert-count')!;
alerts.subscribe(() => {
  const { count, worst } = firingSummary(alerts.alerts);
  alertCount.textContent = String(count);
  alertCount.hidden = count === 0;
  alertCount.className = `alert-count${worst ? ` severity-${worst}` : ''}`;
  alertCount.title = `${count} firing ${count === 1 ? 'alert' : 'alerts'}`;
});
alerts.start();

window.addEventListener('hashchange', route);
route();
void store.start().then(() => {
  document.body.dataset.ready = 'true';
});
// For the benchmark and for debugging from the console.
(window as unknown as { hubStore: LiveStore }).hubStore = store;
