/** The hub's HTTP API as the dashboard uses it. Device, reading and quarantine types come from the hub's kernel; the rest mirror hub/http/*. */

// Type-only imports (erased from the bundle): the page and the hub cannot disagree on these.
import type { DeviceState, SensorState } from '../../../hub/core/device-state.js';
import type { QuarantineEntry } from '../../../hub/core/quarantine-entry.js';
import type { Reading } from '../../../hub/core/reading.js';

export type { DeviceState, QuarantineEntry, Reading, SensorState };

export type DeviceStateName = DeviceState['state'];

export interface HistoryPoint {
  ts: number;
  mean?: number;
  min?: number;
  max?: number;
  count?: number;
  value?: number;
}

export interface History {
  device: string;
  sensor: string;
  metric: string;
  unit: string;
  from: number;
  to: number;
  every: number;
  source: string;
  points: HistoryPoint[];
}

export interface Trends {
  every: number;
  series: Array<{ device: string; sensor: string; ts: number[]; values: number[] }>;
}

export interface RateSample {
  /** Epoch ms. */
  t: number;
  perSecond: number;
}

export interface CurrentRates {
  readingsPerSec: number;
  storedPerSec: number;
  quarantinedPerSec: number;
}

/**
 * GET /api/hub. `rates` is the server's recent history of the ingest rate, oldest
 * first; an older hub answered the current rates object there instead (still read).
 */
export interface HubStatus {
  ok: boolean;
  influx: { url: string; reachable: boolean; queued: number; lastError: string | null; spoolBytes?: number };
  mqtt: { host?: string; port: number; clients: number; auth?: boolean };
  devices?: number;
  quarantined?: number;
  rates: RateSample[] | CurrentRates;
  /** Current rates, when `rates` is the history. */
  current?: Partial<CurrentRates>;
  writeQueue?: { readings: number };
  now: number;
}

/**
 * A token given once as ?token= is kept for the session and sent on every API call.
 * Read at the first call, not at import (the views' pure helpers are imported in Node by tests).
 */
let token: string | null | undefined;
function apiToken(): string | undefined {
  if (token === undefined) {
    const fromUrl = new URLSearchParams(location.search).get('token');
    if (fromUrl) sessionStorage.setItem('hub-token', fromUrl);
    token = fromUrl ?? sessionStorage.getItem('hub-token');
  }
  return token ?? undefined;
}

export function apiUrl(path: string, params: Record<string, string | number | undefined> = {}): string {
  const u = new URL(path, location.href);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, String(v));
  const t = apiToken();
  if (t) u.searchParams.set('token', t);
  return u.toString();
}

/** Sends a JSON request (PATCH, DELETE); the hub's error message becomes the Error's. */
export async function sendJson<T>(
  method: 'PATCH' | 'DELETE' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(apiUrl(path), {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: (T & { message?: string }) | undefined;
  try {
    parsed = text ? (JSON.parse(text) as T & { message?: string }) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) throw new Error(parsed?.message ?? `${res.status} ${res.statusText}`);
  return parsed as T;
}

export async function getJson<T>(
  path: string,
  params: Record<string, string | number | undefined> = {},
): Promise<T> {
  const res = await fetch(apiUrl(path, params));
  const body = (await res.json()) as T & { message?: string };
  if (!res.ok) throw new Error(body.message ?? `${res.status} ${res.statusText}`);
  return body;
}
