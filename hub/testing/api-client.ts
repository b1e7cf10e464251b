import type { DeviceState } from '../core/device-state.js';
import type { QuarantineReason } from '../core/errors.js';
import type { QuarantineEntry } from '../core/quarantine-entry.js';

/** One sensor's history, as GET /api/readings answers it. */
export interface HistoryAnswer {
  device: string;
  sensor: string;
  metric: string;
  unit: string;
  from: number;
  to: number;
  every: string | number | null;
  /** raw, or the name of the rollup the answer comes from. */
  source: string;
  rawFrom?: number;
  /** `value` for raw points; mean/min/max (or others) when aggregated with `every`. */
  points: Array<{ ts: number } & Record<string, number | null>>;
}

export interface HistoryParams {
  device: string;
  sensor: string;
  /** Epoch ms, or a time the API takes (`now-1h`). */
  from?: number | string;
  to?: number | string;
  every?: string;
}

/** A non-2xx answer of the HTTP API, with the hub's error code from the body. */
export class HubApiError extends Error {
  constructor(
    readonly status: number,
    /** The hub's error code (HUB_NOT_FOUND, HUB_BAD_REQUEST, ...) when the body names one. */
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'HubApiError';
  }
}

/** A typed client of the hub's HTTP API (README "HTTP API"). */
export class HubApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token?: string,
  ) {}

  /** GET of `path` (with query parameters), parsed as JSON; a non-2xx answer throws HubApiError. */
  async get<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
    const res = await this.#fetch(path, params);
    return (await res.json()) as T;
  }

  async #fetch(path: string, params: Record<string, string | number | undefined>): Promise<Response> {
    const url = new URL(path, this.baseUrl);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, String(v));
    const res = await fetch(url, this.token ? { headers: { authorization: `Bearer ${this.token}` } } : {});
    if (!res.ok) {
      const text = await res.text();
      let body: { error?: string; message?: string } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // not JSON: the text is the message
      }
      throw new HubApiError(
        res.status,
        body.error,
        `GET ${url.pathname} answered ${res.status}: ${body.message ?? text.slice(0, 200)}`,
      );
    }
    return res;
  }

  async devices(): Promise<DeviceState[]> {
    return (await this.get<{ devices: DeviceState[] }>('/api/devices')).devices;
  }

  device(id: string): Promise<DeviceState> {
    return this.get<DeviceState>(`/api/devices/${encodeURIComponent(id)}`);
  }

  readings(q: HistoryParams): Promise<HistoryAnswer> {
    return this.get<HistoryAnswer>('/api/readings', { ...q });
  }

  quarantine(
    q: { limit?: number; device?: string } = {},
  ): Promise<{ counts: Partial<Record<QuarantineReason, number>>; entries: QuarantineEntry[] }> {
    return this.get('/api/quarantine', q);
  }

  /** GET /healthz; a hub that is not healthy answers 503, which this returns rather than throws. */
  async health(): Promise<{ ok: boolean } & Record<string, unknown>> {
    const url = new URL('/healthz', this.baseUrl);
    const res = await fetch(url, this.token ? { headers: { authorization: `Bearer ${this.token}` } } : {});
    return (await res.json()) as { ok: boolean } & Record<string, unknown>;
  }

  /** GET /metrics: Prometheus text. */
  async metrics(): Promise<string> {
    return (await this.#fetch('/metrics', {})).text();
  }
}
