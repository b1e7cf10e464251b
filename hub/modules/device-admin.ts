import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { DeviceSettings, DeviceState } from '../core/device-state.js';
import { HubError } from '../core/errors.js';
import { isValidId } from '../core/reading.js';
import type { DeviceRegistry } from '../registry.js';
import { readJsonFile, writeJsonAtomic } from '../storage/json-file.js';
import type { KnownSensor } from '../storage/known-sensors.js';
import type { HubModule } from './module.js';

export const REMOVED_FILE = 'removed-devices.json';
export const SETTINGS_FILE = 'device-settings.json';

/** A change of a device's settings: JSON merge patch (RFC 7396), `null` clears. */
export interface SettingsPatch {
  name?: string | null | undefined;
  tags?: Record<string, string | null> | undefined;
}

export interface DeviceAdminDeps {
  dataDir: string;
  registry: DeviceRegistry;
  log: Logger;
  /** Clears what the hub published retained for the device (availability, discovery configs). */
  clearRetained(device: DeviceState): Promise<void>;
  /** Publishes what depends on the display name again (Home Assistant discovery configs). */
  renamed?(device: DeviceState): Promise<void>;
  /** Forgets the device's last reported values, so a device that comes back is stored from its first reading. */
  forgetReported(device: string): void;
}

const removedEntry = z.object({ removedAt: z.number() });
const settingsEntry = z.object({ name: z.string().optional(), tags: z.unknown().optional() });

/**
 * Removing, renaming and labelling devices through the API, kept across restarts in
 * the data folder: removed-devices.json (which device was removed when) and
 * device-settings.json (names and labels), each written atomically. A removed
 * device's history stays in InfluxDB; the restore at start skips what was stored of
 * it before its removal, and a reading after the removal makes it a new device.
 */
export class DeviceAdminModule implements HubModule {
  readonly name = 'device-admin';
  /** device -> when it was removed (hub time, ms). */
  readonly #removed = new Map<string, number>();
  readonly #settings = new Map<string, DeviceSettings>();
  /** File writes, one after the other, so the newest state is the one left on disk. */
  #writing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: DeviceAdminDeps) {}

  get #removedPath(): string {
    return join(this.deps.dataDir, REMOVED_FILE);
  }

  get #settingsPath(): string {
    return join(this.deps.dataDir, SETTINGS_FILE);
  }

  async start(): Promise<void> {
    for (const [id, r] of await this.#load(this.#removedPath, removedEntry))
      this.#removed.set(id, r.removedAt);
    for (const [id, s] of await this.#load(this.#settingsPath, settingsEntry)) {
      const clean = cleanSettings({
        ...(s.name === undefined ? {} : { name: s.name }),
        tags: stringsOf(s.tags),
      });
      if (!clean) continue;
      this.#settings.set(id, clean);
      this.deps.registry.setSettings(id, clean);
    }
  }

  stop(): Promise<void> {
    return this.#writing;
  }

  /** What storage knows, without what was stored of a removed device before its removal. */
  filterRestored(known: readonly KnownSensor[] | undefined): KnownSensor[] | undefined {
    if (!known) return undefined;
    return known.filter((k) => {
      const at = this.#removed.get(k.device);
      return at === undefined || k.ts > at;
    });
  }

  /** A device the registry has not known appeared: if it had been removed, it is back. */
  noteNewDevice(id: string): void {
    if (!this.#removed.delete(id)) return;
    this.#persistRemoved().catch((err: unknown) =>
      this.deps.log.error({ err, device: id }, 'could not write removed-devices.json'),
    );
  }

  /**
   * Removes a device: refused for one the config declares (HUB_CONFLICT) or the hub
   * does not know (HUB_NOT_FOUND). Written to disk before anything else changes, so an
   * answer of success survives a restart.
   */
  async remove(id: string, now = Date.now()): Promise<{ removed: string; sensors: number }> {
    const { registry } = this.deps;
    if (registry.isDeclared(id))
      throw new HubError(
        'HUB_CONFLICT',
        `device ${id} is declared in the config (devices or boards): remove it there and restart the hub`,
      );
    if (!registry.has(id)) throw new HubError('HUB_NOT_FOUND', `no device ${id}`);
    const hadSettings = this.#settings.has(id);
    this.#removed.set(id, now);
    this.#settings.delete(id);
    try {
      await this.#persistRemoved();
      if (hadSettings) await this.#persistSettings();
    } catch (err) {
      this.#removed.delete(id);
      throw err;
    }
    const state = registry.remove(id);
    this.deps.forgetReported(id);
    if (state) {
      try {
        await this.deps.clearRetained(state);
      } catch (err) {
        this.deps.log.warn({ err, device: id }, 'could not clear the retained topics of a removed device');
      }
    }
    this.deps.log.info({ device: id }, 'device removed');
    return { removed: id, sensors: state ? Object.keys(state.sensors).length : 0 };
  }

  /** Applies a settings patch to a known device, on disk first; answers the device's new state. */
  async update(id: string, patch: SettingsPatch): Promise<DeviceState> {
    const { registry } = this.deps;
    if (!registry.has(id)) throw new HubError('HUB_NOT_FOUND', `no device ${id}`);
    const declaredKeys = new Set(registry.declaredTagKeys(id));
    for (const k of Object.keys(patch.tags ?? {}))
      if (declaredKeys.has(k))
        throw new HubError(
          'HUB_CONFLICT',
          `tag ${k} of device ${id} is set in the config (it is an InfluxDB tag): change it there`,
        );
    const before = this.#settings.get(id);
    const next = mergeSettings(before, patch);
    if (next) this.#settings.set(id, next);
    else this.#settings.delete(id);
    try {
      await this.#persistSettings();
    } catch (err) {
      if (before) this.#settings.set(id, before);
      else this.#settings.delete(id);
      throw err;
    }
    const state = registry.setSettings(id, next)!;
    if (state.name !== undefined || before?.name !== undefined)
      await this.deps
        .renamed?.(state)
        .catch((err: unknown) => this.deps.log.warn({ err, device: id }, 'could not announce the new name'));
    return state;
  }

  #persistRemoved(): Promise<void> {
    return this.#write(this.#removedPath, () => {
      const devices: Record<string, { removedAt: number }> = {};
      for (const [id, removedAt] of [...this.#removed].sort(([a], [b]) => a.localeCompare(b)))
        Object.defineProperty(devices, id, { value: { removedAt }, enumerable: true });
      return { devices };
    });
  }

  #persistSettings(): Promise<void> {
    return this.#write(this.#settingsPath, () => {
      const devices: Record<string, DeviceSettings> = {};
      for (const [id, s] of [...this.#settings].sort(([a], [b]) => a.localeCompare(b)))
        Object.defineProperty(devices, id, { value: s, enumerable: true });
      return { devices };
    });
  }

  /** Queues a write of what `body` returns when its turn comes (the state of that moment). */
  #write(path: string, body: () => unknown): Promise<void> {
    const next = this.#writing.then(() => writeJsonAtomic(path, body()));
    this.#writing = next.catch(() => undefined);
    return next;
  }

  /**
   * The entries of one file `{devices: {<id>: entry}}`, read key by key (a record
   * schema would assign "__proto__" as the prototype, losing that device). A file that
   * does not parse or fit is moved aside (kept for a person), not fatal; an entry
   * that does not fit is skipped.
   */
  async #load<S extends z.ZodType>(path: string, entry: S): Promise<Array<[string, z.output<S>]>> {
    let raw: unknown;
    try {
      raw = await readJsonFile(path);
    } catch (err) {
      await this.#moveAside(path, (err as Error).message);
      return [];
    }
    if (raw === undefined) return [];
    const devices = isObject(raw) ? raw.devices : undefined;
    if (!isObject(devices)) {
      await this.#moveAside(path, 'expected {"devices": {...}}');
      return [];
    }
    const out: Array<[string, z.output<S>]> = [];
    for (const [id, value] of Object.entries(devices)) {
      const r = entry.safeParse(value);
      if (isValidId(id) && r.success) out.push([id, r.data]);
      else this.deps.log.warn({ file: path, device: id.slice(0, 80) }, 'device file entry skipped');
    }
    return out;
  }

  async #moveAside(path: string, why: string): Promise<void> {
    const aside = `${path}.unreadable-${Date.now()}`;
    this.deps.log.error(
      { file: path, movedTo: aside, reason: why },
      'device file unreadable; starting without it',
    );
    await rename(path, aside).catch(() => undefined);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The string values of an object, as a null-prototype record. */
function stringsOf(v: unknown): Record<string, string> {
  const out = record();
  if (isObject(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** A null-prototype record: "__proto__" or "constructor" is a plain key in it. */
const record = (): Record<string, string> => Object.create(null) as Record<string, string>;

function cleanSettings(s: { name?: string | undefined; tags?: Record<string, string> | undefined }) {
  const out: DeviceSettings = {};
  if (s.name !== undefined) out.name = s.name;
  const tags = record();
  for (const [k, v] of Object.entries(s.tags ?? {})) tags[k] = v;
  if (Object.keys(tags).length > 0) out.tags = tags;
  return out.name === undefined && out.tags === undefined ? undefined : out;
}

/** The settings after a merge patch; undefined when nothing is left set. */
export function mergeSettings(
  before: DeviceSettings | undefined,
  patch: SettingsPatch,
): DeviceSettings | undefined {
  const tags = record();
  for (const [k, v] of Object.entries(before?.tags ?? {})) tags[k] = v;
  for (const [k, v] of Object.entries(patch.tags ?? {})) {
    if (v === null) delete tags[k];
    else tags[k] = v;
  }
  const name = patch.name === undefined ? before?.name : (patch.name ?? undefined);
  return cleanSettings({ name, tags });
}
