import { getJson, type QuarantineEntry } from '../api.js';
import { h, type Unmount } from '../dom.js';
import type { LiveStore } from '../live.js';

/** Shows raw bytes as text when they are printable UTF-8, else as hex. */
function showPayload(b64: string): string {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
    if (!/[\u0000-\u0008\u000e-\u001f]/.test(text)) return text;
  } catch {
    // not UTF-8: fall through to hex
  }
  return [...bytes].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

const MAX_ROWS = 200;

/** What the hub rejected, why, and the raw payload; new entries arrive live. */
export function mountQuarantine(root: HTMLElement, store: LiveStore): Unmount {
  const counts = h('div', { class: 'reason-counts' });
  const body = h('tbody');
  root.append(
    h('h2', {}, 'Quarantine'),
    h(
      'p',
      { class: 'meta' },
      'Payloads the hub could not read are kept here with the reason, never silently dropped.',
    ),
    counts,
    h(
      'table',
      { class: 'quarantine cards' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Received', 'Device', 'Topic', 'Reason', 'Detail', 'Payload'].map((t) => h('th', {}, t)),
        ),
      ),
      body,
    ),
  );
  const tally = new Map<string, number>();
  const paintCounts = () => {
    const nonzero = [...tally].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    counts.replaceChildren(
      ...(nonzero.length === 0
        ? [h('span', { class: 'empty' }, 'Nothing quarantined.')]
        : nonzero.map(([r, n]) =>
            h('span', { class: 'chip', 'data-reason': r }, `${r} `, h('b', {}, String(n))),
          )),
    );
  };
  const row = (e: QuarantineEntry) =>
    h(
      'tr',
      { 'data-reason': e.reason },
      h('td', { 'data-label': 'Received' }, new Date(e.receivedAt).toLocaleTimeString()),
      h('td', { 'data-label': 'Device' }, e.device),
      h('td', { 'data-label': 'Topic' }, h('code', {}, e.topic)),
      h('td', { 'data-label': 'Reason' }, h('span', { class: 'reason' }, e.reason)),
      h('td', { 'data-label': 'Detail' }, e.detail),
      h(
        'td',
        { 'data-label': 'Payload' },
        h('code', { class: 'payload' }, showPayload(e.payload)),
        e.truncated ? ` (${e.size} bytes, cut)` : '',
      ),
    );
  void getJson<{ counts: Record<string, number>; entries: QuarantineEntry[] }>('/api/quarantine', {
    limit: MAX_ROWS,
  }).then((q) => {
    for (const [r, n] of Object.entries(q.counts)) tally.set(r, n);
    paintCounts();
    body.append(...q.entries.map(row));
  });
  const unsub = store.onQuarantine((e) => {
    tally.set(e.reason, (tally.get(e.reason) ?? 0) + 1);
    paintCounts();
    body.prepend(row(e));
    while (body.rows.length > MAX_ROWS) body.lastElementChild?.remove();
  });
  return unsub;
}
