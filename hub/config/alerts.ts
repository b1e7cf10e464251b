import { z } from 'zod';
import { convert, resolveUnit } from '../core/units.js';
import { duration } from './common.js';

/**
 * alerts.rules and alerts.notify (docs/alerts.md). Thresholds given with a `unit` are
 * converted here, once, into the canonical unit of that unit's quantity, so the engine
 * compares numbers only.
 */

/** Rule names become topic levels, InfluxDB tags and URL path segments: one safe alphabet. */
export const RULE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** A glob over ids: `*` any run of characters, `?` one. Ids have no `/`, so nothing else is special. */
const glob = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9_.\-*?]+$/, { error: 'expected an id or a glob of [A-Za-z0-9_.-] with * and ?' });

const tagGlob = z.string().min(1).max(256);

const match = z.strictObject({
  device: glob.optional(),
  sensor: glob.optional(),
  metric: glob.optional(),
  /** Device tags (declared in devices[].tags or location); each value is a glob. */
  tags: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), tagGlob).optional(),
});

const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

const finite = z.number().refine(Number.isFinite, { error: 'expected a finite number' });
const pair = z
  .tuple([finite, finite])
  .refine(([lo, hi]) => lo < hi, { error: 'expected [low, high] with low below high' });

const rate = z
  .strictObject({
    /** Fires when the value rose by more than this within `per`. */
    above: finite.optional(),
    /** Fires when the change within `per` is less than this (negative: falling faster than). */
    below: finite.optional(),
    per: duration.refine((ms) => ms > 0, { error: 'expected a duration over 0' }),
  })
  .refine((r) => (r.above === undefined) !== (r.below === undefined), {
    error: 'expected exactly one of rate.above or rate.below',
  });

const KINDS = ['above', 'below', 'outside', 'rate', 'stale', 'offline'] as const;
export type RuleKind = (typeof KINDS)[number];

const ruleInput = z.strictObject({
  name: z.string().regex(RULE_NAME, { error: 'expected a rule name of [A-Za-z0-9_.-]{1,64}' }),
  match: match.default({}),
  above: finite.optional(),
  below: finite.optional(),
  outside: pair.optional(),
  rate: rate.optional(),
  stale: z.literal(true).optional(),
  offline: z.literal(true).optional(),
  /** The unit of the thresholds and `clear` ("°F", "hPa"); default: the metric's canonical unit. */
  unit: z
    .string()
    .refine((u) => resolveUnit(u) !== undefined, {
      error: 'expected a known unit such as "Cel", "°F", "hPa"',
    })
    .optional(),
  /** How long the condition must hold before the alert fires. */
  for: duration.default(0),
  /** The value that resolves a firing alert (hysteresis); default: the threshold. `[lo, hi]` for outside. */
  clear: z.union([finite, pair]).optional(),
  severity: z.enum(SEVERITIES).default('warning'),
});

/** A rule as the engine uses it: one condition, in canonical units, with its clear value. */
export type AlertRule =
  | (RuleBase<'above' | 'below'> & { threshold: number; clear: number })
  | (RuleBase<'outside'> & { threshold: [number, number]; clear: [number, number] })
  | (RuleBase<'rate'> & { direction: 'above' | 'below'; threshold: number; clear: number; per: number })
  | RuleBase<'stale' | 'offline'>;

export interface RuleBase<K extends RuleKind> {
  name: string;
  kind: K;
  match: z.output<typeof match>;
  for: number;
  severity: Severity;
  /** The canonical unit the thresholds are in, when the rule named a unit. */
  unit?: string | undefined;
}

export const alertRule = ruleInput.transform((r, ctx): AlertRule => {
  const kinds = KINDS.filter((k) => r[k] !== undefined);
  if (kinds.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message:
        kinds.length === 0
          ? `expected one condition: ${KINDS.join(', ')}`
          : `expected one condition, got ${kinds.join(' and ')} (use outside: [low, high] for both bounds)`,
    });
    return z.NEVER;
  }
  const kind = kinds[0]!;
  const base = { name: r.name, match: r.match, for: r.for, severity: r.severity };
  if (kind === 'stale' || kind === 'offline') {
    for (const key of ['clear', 'unit'] as const) {
      if (r[key] !== undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: `not used by a ${kind} rule` });
    }
    if (kind === 'offline' && (r.match.sensor !== undefined || r.match.metric !== undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['match'],
        message: 'an offline rule matches devices (device, tags), not sensor or metric',
      });
    return { ...base, kind };
  }
  const from = r.unit === undefined ? undefined : resolveUnit(r.unit);
  const to = from && resolveUnit(from.base);
  // Absolute values take the unit's offset (95 °F is 35 °C); a rate is a difference (2 °F is 1.11 K).
  const canon = (v: number, difference = false) => (from && to ? convert(v, from, to, difference)! : v);
  const unit = to?.code;
  const badClear = (message: string) => ctx.addIssue({ code: 'custom', path: ['clear'], message });
  if (kind === 'outside') {
    const [lo, hi] = r.outside!;
    if (r.clear !== undefined && !Array.isArray(r.clear)) {
      badClear('expected [low, high] for an outside rule');
      return z.NEVER;
    }
    const [clo, chi] = (r.clear as [number, number] | undefined) ?? [lo, hi];
    if (clo < lo || chi > hi) badClear(`expected a band within outside [${lo}, ${hi}]`);
    return { ...base, kind, unit, threshold: [canon(lo), canon(hi)], clear: [canon(clo), canon(chi)] };
  }
  if (Array.isArray(r.clear)) {
    badClear('expected a number');
    return z.NEVER;
  }
  if (kind === 'rate') {
    const direction = r.rate!.above !== undefined ? 'above' : 'below';
    const threshold = (direction === 'above' ? r.rate!.above : r.rate!.below)!;
    const clear = r.clear ?? threshold;
    if (direction === 'above' ? clear > threshold : clear < threshold)
      badClear(`expected a value ${direction === 'above' ? 'at or below' : 'at or above'} ${threshold}`);
    return {
      ...base,
      kind,
      unit,
      direction,
      per: r.rate!.per,
      threshold: canon(threshold, true),
      clear: canon(clear, true),
    };
  }
  const threshold = r[kind]!;
  const clear = r.clear ?? threshold;
  if (kind === 'above' ? clear > threshold : clear < threshold)
    badClear(`expected a value ${kind === 'above' ? 'at or below' : 'at or above'} ${threshold}`);
  return { ...base, kind, unit, threshold: canon(threshold), clear: canon(clear) };
});

const notify = z.strictObject({
  webhook: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  /** Rule names (globs) this receiver gets; default: every rule. */
  rules: z.array(glob).min(1).optional(),
  /** Extra request headers (an Authorization token). */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), z.string().max(4096)).optional(),
});

export const alertsSchema = z
  .strictObject({
    rules: z.array(alertRule).max(100_000).default([]),
    notify: z
      .array(notify)
      .default([])
      .meta({ examples: [[{ webhook: 'http://127.0.0.1:9000/hook' }]] }),
    /** Changes kept in GET /api/alerts's history. */
    historySize: z.number().int().min(0).max(100_000).default(200),
    /** Undelivered changes one receiver keeps on disk; past it the oldest are dropped and counted. */
    maxQueued: z.number().int().min(1).default(100_000),
    /** Longest wait between delivery attempts of a webhook that failed (capped exponential backoff). */
    maxRetryDelay: duration.default(60_000),
  })
  .superRefine((a, ctx) => {
    const seen = new Set<string>();
    a.rules.forEach((r, i) => {
      if (seen.has(r.name))
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'name'],
          message: `duplicate rule name ${r.name}`,
        });
      seen.add(r.name);
    });
  });

export type AlertsConfig = z.output<typeof alertsSchema>;
export type NotifyTarget = AlertsConfig['notify'][number];
