import { type DeviceState, sendJson } from '../api.js';
import { h } from '../dom.js';

/** Tags as the form shows them: `key=value, key2=value2` (location has its own place). */
export function formatTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .filter(([k]) => k !== 'location')
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** Reads the tags field as the API takes tags (names of the id alphabet, text values); else the reason. */
export function parseTags(text: string): Record<string, string> | string {
  // A null-prototype record: a tag named "__proto__" is a tag, not the prototype.
  const out = Object.create(null) as Record<string, string>;
  for (const part of text.split(',')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq < 0) return `tag "${item}": write it as name=value, e.g. room=kitchen`;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(key))
      return `tag "${key}": a name is 1 to 64 letters, digits, _ . or -`;
    if (value.length === 0 || value.length > 128) return `tag "${key}": a value is 1 to 128 characters`;
    if (Object.hasOwn(out, key)) return `tag "${key}" is given twice`;
    out[key] = value;
  }
  return out;
}

/**
 * The PATCH body for what changed: a tag no longer in the form is sent as null (the
 * API removes it), unchanged tags are not sent (tags the config sets cannot be
 * changed here), an empty name goes back to the id.
 */
export function settingsPatch(
  before: Pick<DeviceState, 'name' | 'tags'>,
  name: string,
  tags: Record<string, string>,
): { name?: string | null; tags?: Record<string, string | null> } {
  const out: { name?: string | null; tags?: Record<string, string | null> } = {};
  const trimmed = name.trim();
  if (trimmed !== (before.name ?? '')) out.name = trimmed === '' ? null : trimmed;
  const changes = Object.create(null) as Record<string, string | null>;
  for (const [k, v] of Object.entries(tags)) if (before.tags[k] !== v) changes[k] = v;
  for (const k of Object.keys(before.tags))
    if (k !== 'location' && !Object.hasOwn(tags, k)) changes[k] = null;
  if (Object.keys(changes).length > 0) out.tags = changes;
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
  const tags = h('input', { id: 'device-tags', name: 'tags', placeholder: 'room=kitchen, owner=ana' });
  tags.value = formatTags(d.tags);
  const error = h('p', { class: 'error', hidden: '', role: 'alert', id: 'admin-error' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'device-save' }, 'Save');
  const remove = h('button', { type: 'button', class: 'danger', id: 'device-remove' }, 'Remove device…');
  const form = h(
    'form',
    {},
    h('label', { for: 'device-name' }, 'Name'),
    name,
    h('label', { for: 'device-tags' }, 'Tags'),
    tags,
    h('p', { class: 'hint' }, 'Comma-separated name=value pairs. Searchable in the device list.'),
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
    const patch = settingsPatch(d, name.value, parsed);
    if (patch.name === undefined && patch.tags === undefined) {
      error.hidden = true;
      on.saved(d);
      return;
    }
    save.disabled = true;
    sendJson<DeviceState>('PATCH', path, patch)
      .then((next) => {
        error.hidden = true;
        d = { ...d, ...next };
        name.value = d.name ?? '';
        tags.value = formatTags(d.tags);
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
  // The config owns a declared device: offering a removal that must fail would only confuse.
  const declared = (d as DeviceState & { declared?: boolean }).declared === true;
  if (declared) {
    remove.disabled = true;
    remove.title = 'declared in the config';
    remove.after(
      h(
        'span',
        { class: 'hint-inline', id: 'declared-note' },
        'Declared in the config file: remove it there and restart the hub.',
      ),
    );
  }
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
