import type { RuleKind, Severity } from '../config/alerts.js';

export type AlertState = 'pending' | 'firing' | 'resolved';

/** The sensor level of an alert about a whole device (offline rules): not an id, so it cannot collide. */
export const DEVICE_LEVEL = '_device';

/**
 * One alert change as every receiver sees it: the webhook body, the retained
 * hub/alerts/<rule>/<device>/<sensor> payload, an entry of GET /api/alerts.
 */
export interface Alert {
  /** Unique per change: a receiver drops a repeat by it. */
  id: string;
  rule: string;
  device: string;
  sensor: string;
  metric: string | null;
  kind: RuleKind;
  state: AlertState;
  /** The value that made the last change (rate rules: the change within `per`); null for stale and offline. */
  value: number | null;
  unit: string | null;
  severity: Severity;
  /** Epoch ms when the current state began. */
  since: number;
  /** Epoch ms when the condition first held (the start of pending). */
  activeSince: number;
  acknowledged: boolean;
  acknowledgedAt?: number | undefined;
  acknowledgedBy?: string | undefined;
  silenced: boolean;
}

/** A silence: notifications of matching alerts are held back until `until`. */
export interface Silence {
  id: string;
  /** Rule name glob; absent: every rule. */
  rule?: string | undefined;
  /** Device glob; absent: every device. */
  device?: string | undefined;
  createdAt: number;
  until: number;
  comment?: string | undefined;
}

/** Why the engine reports a change; `notify` says whether webhooks get it. */
export interface AlertChange {
  alert: Alert;
  /** Send to webhooks (firing not silenced; resolved of a firing that was sent). */
  notify: boolean;
  /** False for a pending alert that went away before `for`: it is forgotten. */
  active: boolean;
  /** A state change, an acknowledgement, or a firing alert released when its silence ended. */
  event: 'state' | 'ack' | 'release';
}

/** What is persisted per alert, so a restart neither forgets nor repeats it. */
export interface StoredAlert {
  alert: Alert;
  /** Whether webhooks were told it fires. */
  notified: boolean;
}

/** What the HTTP routes use of the alerts module. */
export interface AlertsApi {
  active(): Alert[];
  history(): Alert[];
  acknowledge(rule: string, device: string, sensor: string, by?: string): Alert | undefined;
  silence(s: Omit<Silence, 'id' | 'createdAt'>): Silence;
  unsilence(id: string): boolean;
  silences(): Silence[];
}
