import { type Alert, type AlertFeed, DEVICE_LEVEL, type Silence } from '../alerts.js';
import { ago, h, type Unmount } from '../dom.js';
import { converter, formatValue } from '../units.js';

const SILENCE_CHOICES = ['1h', '4h', '24h', '7d'];
const HISTORY_ROWS = 50;

/** The value as the rest of the dashboard shows it, in the display unit chosen in the header. */
function showValue(a: Alert): string {
  if (a.value === null) return a.kind === 'offline' ? 'offline' : a.kind === 'stale' ? 'no data' : '–';
  // A rate's value is a change, not a level: converting it with an offset would be wrong.
  if (!a.unit || !a.metric || a.kind === 'rate')
    return `${formatValue(a.value)}${a.unit ? ` ${a.unit}` : ''}`;
  const c = converter(a.unit, a.metric);
  return `${formatValue(c.fn(a.value))}${c.label ? ` ${c.label}` : ''}`;
}

const deviceLink = (a: Alert) =>
  h(
    'a',
    {
      href: `#/device/${encodeURIComponent(a.device)}${a.sensor === DEVICE_LEVEL ? '' : `/${encodeURIComponent(a.sensor)}`}`,
    },
    a.device,
  );

const severityChip = (a: Alert) => h('span', { class: `severity severity-${a.severity}` }, a.severity);

/**
 * Pending and firing alerts (firing first, by severity), each with acknowledge and
 * silence; the silences in force; recent changes. Refreshed by the feed's polling.
 */
export function mountAlerts(root: HTMLElement, feed: AlertFeed): Unmount {
  const duration = h('select', { id: 'silence-for', 'aria-label': 'silence for' });
  for (const d of SILENCE_CHOICES) duration.append(h('option', { value: d }, d));
  const summary = h('span', { class: 'counts', id: 'alert-summary' });
  const error = h('p', { class: 'error', hidden: '', id: 'alert-error' });
  const loadError = h('p', { class: 'error', hidden: '' });
  const activeBody = h('tbody');
  const activeEmpty = h(
    'p',
    { class: 'empty', id: 'no-alerts', hidden: '' },
    'Nothing is firing or pending.',
  );
  const silenceList = h('ul', { class: 'silences', id: 'silences' });
  const historyBody = h('tbody');
  root.append(
    h('h2', {}, 'Alerts'),
    h('section', { class: 'toolbar' }, summary, h('label', {}, 'Silence for ', duration)),
    loadError,
    error,
    h(
      'table',
      { class: 'alerts cards', id: 'active-alerts' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Severity', 'State', 'Rule', 'Device', 'Sensor', 'Value', 'Since', ''].map((t) =>
            h('th', {}, t),
          ),
        ),
      ),
      activeBody,
    ),
    activeEmpty,
    h('h3', {}, 'Silences'),
    silenceList,
    h('h3', {}, 'Recent changes'),
    h(
      'table',
      { class: 'alert-history cards', id: 'alert-history' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['When', 'State', 'Severity', 'Rule', 'Device', 'Sensor', 'Value'].map((t) => h('th', {}, t)),
        ),
      ),
      historyBody,
    ),
  );

  const fail = (err: unknown) => {
    error.textContent = (err as Error).message;
    error.hidden = false;
  };

  const act = (button: HTMLButtonElement, what: string, fn: () => Promise<void>) => {
    button.addEventListener('click', () => {
      button.disabled = true;
      error.hidden = true;
      fn()
        .catch((err: unknown) => fail(new Error(`${what} failed: ${(err as Error).message}`)))
        .finally(() => {
          button.disabled = false;
        });
    });
  };

  const activeRow = (a: Alert) => {
    const ack = h('button', { type: 'button', class: 'ack' }, 'Acknowledge');
    if (a.acknowledged) ack.hidden = true;
    else act(ack, 'Acknowledge', () => feed.acknowledge(a));
    const silence = h(
      'button',
      { type: 'button', class: 'silence', title: 'this rule on this device' },
      'Silence',
    );
    act(silence, 'Silence', () => feed.silence({ rule: a.rule, device: a.device, for: duration.value }));
    const flags: Array<Node | string> = [];
    if (a.acknowledged)
      flags.push(
        h(
          'span',
          { class: 'flag acked', title: a.acknowledgedAt ? new Date(a.acknowledgedAt).toLocaleString() : '' },
          `acknowledged${a.acknowledgedBy ? ` by ${a.acknowledgedBy}` : ''}`,
        ),
      );
    if (a.silenced) flags.push(h('span', { class: 'flag silenced' }, 'silenced'));
    return h(
      'tr',
      {
        'data-alert': `${a.rule}/${a.device}/${a.sensor}`,
        'data-state': a.state,
        'data-severity': a.severity,
        class: `alert-row severity-row-${a.severity}`,
      },
      h('td', { 'data-label': 'Severity' }, severityChip(a)),
      h(
        'td',
        { 'data-label': 'State' },
        h('span', { class: `alert-state alert-${a.state}` }, a.state),
        ...flags,
      ),
      h('td', { 'data-label': 'Rule' }, a.rule),
      h('td', { 'data-label': 'Device' }, deviceLink(a)),
      h('td', { 'data-label': 'Sensor' }, a.sensor === DEVICE_LEVEL ? 'device' : a.sensor),
      h('td', { 'data-label': 'Value', class: 'value' }, showValue(a)),
      h('td', { 'data-label': 'Since', title: new Date(a.since).toLocaleString() }, ago(a.since)),
      h('td', { class: 'actions' }, ack, silence),
    );
  };

  const silenceItem = (s: Silence) => {
    const end = h('button', { type: 'button', class: 'unsilence' }, 'End');
    act(end, 'Ending the silence', () => feed.unsilence(s.id));
    const what = [s.rule ? `rule ${s.rule}` : 'every rule', s.device ? `device ${s.device}` : 'every device'];
    return h(
      'li',
      { 'data-silence': s.id },
      h('span', {}, `${what.join(' · ')} · until ${new Date(s.until).toLocaleString()}`),
      ...(s.comment ? [h('span', { class: 'meta' }, ` · ${s.comment}`)] : []),
      ' ',
      end,
    );
  };

  const historyRow = (a: Alert) =>
    h(
      'tr',
      { 'data-state': a.state },
      h('td', { 'data-label': 'When', title: new Date(a.since).toLocaleString() }, ago(a.since)),
      h('td', { 'data-label': 'State' }, h('span', { class: `alert-state alert-${a.state}` }, a.state)),
      h('td', { 'data-label': 'Severity' }, severityChip(a)),
      h('td', { 'data-label': 'Rule' }, a.rule),
      h('td', { 'data-label': 'Device' }, deviceLink(a)),
      h('td', { 'data-label': 'Sensor' }, a.sensor === DEVICE_LEVEL ? 'device' : a.sensor),
      h('td', { 'data-label': 'Value', class: 'value' }, showValue(a)),
    );

  const paint = () => {
    loadError.textContent = feed.error ? `Alerts could not be loaded: ${feed.error}` : '';
    loadError.hidden = feed.error === undefined;
    if (!feed.loaded) {
      summary.textContent = 'loading…';
      return;
    }
    const firing = feed.alerts.filter((a) => a.state === 'firing').length;
    summary.textContent = `${firing} firing · ${feed.alerts.length - firing} pending · ${feed.silences.length} ${feed.silences.length === 1 ? 'silence' : 'silences'}`;
    activeBody.replaceChildren(...feed.alerts.map(activeRow));
    activeEmpty.hidden = feed.alerts.length > 0;
    silenceList.replaceChildren(
      ...(feed.silences.length ? feed.silences.map(silenceItem) : [h('li', { class: 'empty' }, 'None.')]),
    );
    historyBody.replaceChildren(...feed.history.slice(0, HISTORY_ROWS).map(historyRow));
  };
  paint();
  const unsub = feed.subscribe(paint);
  void feed.refresh();
  return unsub;
}
