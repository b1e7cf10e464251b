import { type DeviceState, sendJson } from '../api.js';
import { h } from '../dom.js';

/** Tags as the form shows them: `key=value, key2=value2` (a bare word is a tag without value). */
export function formatTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .filter(([k]) => k !== 'location')
    .map(([k, v]) => (v ? `${k}=${v}` : k))
    .join(', ');
}

/** Reads the tags field; a key that is no valid id is refused with the reason. */
export function parseTags(text: string): Record<string, string> | string {
  // A null-prototype record: a tag named "__proto__" is a tag, not the prototype.
  const out = Object.create(null) as Record<string, string>;
  for (const part of text.split(',')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    // The rule of device tags in the config: they become InfluxDB tag keys.
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key))
      return `tag "${key}": a name starts with a letter or _ and has up to 64 letters, digits or _`;
    if (value.length > 256) return `tag "${key}": the value is longer than 256 characters`;
    out[key] = value;
  }
  return out;
}

export interface AdminEvents {
  removed(): void;
  saved(device: DeviceState): void;
}

/**
 * Rename, tag and remove a device. Removing asks first, in a dialog that says what
 * goes (the device, its retained topics and discovery entries) and what stays (its
 * stored history); a device the config declares cannot be removed here, and the
 * hub's answer says so.
 */
export function deviceAdmin(d: DeviceState, on: AdminEvents): HTMLElement {
  const path = `/api/devices/${encodeURIComponent(d.id)}`;
  const name = h('input', { id: 'device-name', name: 'name', maxlength: '128', placeholder: d.id });
  name.value = d.name ?? '';
  const tags = h('input', { id: 'device-tags', name: 'tags', placeholder: 'room=kitchen, battery' });
  tags.value = formatTags(d.tags);
  const error = h('p', { class: 'error', hidden: '', role: 'alert' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'device-save' }, 'Save');
  const remove = h('button', { type: 'button', class: 'danger', id: 'device-remove' }, 'Remove device…');
  const form = h(
    'form',
    {},
    h('label', { for: 'device-name' }, 'Name'),
    name,
    h('label', { for: 'device-tags' }, 'Tags'),
    tags,
    h('p', { class: 'hint' }, 'Comma-separated; key=value or a single word. Searchable in the device list.'),
    h('div', { class: 'actions' }, save, remove),
  );

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const parsed = parseTags(tags.value);
    if (typeof parsed === 'string') {
      error.textContent = parsed;
      error.hidden = false;
      return;
    }
    // The location tag comes from the config and is kept as it is.
    const location = Object.hasOwn(d.tags, 'location') ? { location: d.tags.location! } : {};
    save.disabled = true;
    sendJson<DeviceState>('PATCH', path, { name: name.value.trim(), tags: { ...location, ...parsed } })
      .then((next) => {
        error.hidden = true;
        d = { ...d, ...next };
        on.saved(d);
      })
      .catch((err: Error) => {
        error.textContent = `Not saved: ${err.message}`;
        error.hidden = false;
      })
      .finally(() => {
        save.disabled = false;
      });
  });

  const confirmBtn = h('button', { type: 'button', class: 'danger primary', id: 'remove-confirm' }, 'Remove');
  const cancelBtn = h('button', { type: 'button', id: 'remove-cancel' }, 'Cancel');
  const dialogError = h('p', { class: 'error', hidden: '', role: 'alert' });
  const dialog = h(
    'dialog',
    { id: 'remove-dialog' },
    h('h3', {}, `Remove ${d.name ?? d.id}?`),
    h(
      'p',
      {},
      'The hub forgets this device and clears its retained topics and Home Assistant discovery entries. ',
      'Its stored history stays in InfluxDB. If the device publishes again, it comes back as a new device.',
    ),
    dialogError,
    h('div', { class: 'dialog-actions' }, cancelBtn, confirmBtn),
  );
  remove.addEventListener('click', () => {
    dialogError.hidden = true;
    dialog.showModal();
  });
  cancelBtn.addEventListener('click', () => dialog.close());
  confirmBtn.addEventListener('click', () => {
    confirmBtn.disabled = true;
    sendJson('DELETE', path)
      .then(() => {
        dialog.close();
        on.removed();
      })
      .catch((err: Error) => {
        dialogError.textContent = err.message;
        dialogError.hidden = false;
      })
      .finally(() => {
        confirmBtn.disabled = false;
      });
  });

  return h(
    'details',
    { class: 'admin', id: 'device-admin' },
    h('summary', {}, 'Manage device'),
    form,
    error,
    dialog,
  );
}
