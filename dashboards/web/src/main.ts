import './style.css';
import { AlertFeed, firingSummary } from './alerts.js';
import { apiUrl } from './api.js';
import type { Unmount } from './dom.js';
import { LiveStore } from './live.js';
import { mountLogin, signOut, whoAmI } from './login.js';
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

/** Signed out (or the session ended): the header says so instead of "reconnecting…". */
let signedOut = false;
let lastAsked = 0;
store.subscribe(() => {
  if (!store.connected && !signedOut && Date.now() - lastAsked > 5000) {
    lastAsked = Date.now();
    void whoAmI(apiUrl('/api/whoami')).then((w) => {
      if (!w.signedIn) showSignIn(w.login);
    });
  }
  if (signedOut) return;
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

function showSignIn(canLogin: boolean): void {
  signedOut = true;
  unmount?.();
  unmount = undefined;
  conn.textContent = 'sign in';
  conn.className = 'conn down';
  void mountLogin(view, canLogin).then(() => location.reload());
}

void whoAmI(apiUrl('/api/whoami')).then((me) => {
  if (!me.signedIn) return showSignIn(me.login);
  if (me.user !== null) {
    const out = document.createElement('button');
    out.id = 'sign-out';
    out.textContent = `sign out ${me.user}`;
    out.addEventListener('click', () => void signOut().then(() => location.reload()));
    conn.after(out);
  }
  // Only once signed in: the alert feed would otherwise poll into 401s.
  alerts.start();
  window.addEventListener('hashchange', route);
  route();
  void store.start().then(() => {
    document.body.dataset.ready = 'true';
  });
});
// For the benchmark and for debugging from the console.
(window as unknown as { hubStore: LiveStore }).hubStore = store;
