import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';

/**
 * The wording of config problems: what was expected and what was given, in the words of
 * the config file, not of the validation library ("expected a whole number, got
 * "many"", never "Invalid input: expected number, received string").
 */

/** A value as a user wrote it: strings quoted, the rest as JSON. */
export function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  if (typeof v === 'number' && Number.isNaN(v)) return 'text that is not a number';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

const KIND: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'text',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  tuple: 'a list',
  record: 'a mapping',
};

type Issue = z.core.$ZodRawIssue;

/** The config's error map (passed to each parse): every issue zod raises, in our words. */
export function configErrorMap(iss: Issue): string | undefined {
  const got = shown(iss.input);
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return `expected ${KIND[iss.expected] ?? iss.expected}: it is required`;
      return `expected ${KIND[iss.expected] ?? iss.expected}, got ${got}`;
    case 'too_big': {
      const inclusive = iss.inclusive !== false;
      if (iss.origin === 'string') return `expected at most ${iss.maximum} characters, got ${got}`;
      if (iss.origin === 'array') return `expected at most ${iss.maximum} items`;
      return `expected ${inclusive ? 'at most' : 'less than'} ${iss.maximum}, got ${got}`;
    }
    case 'too_small': {
      const inclusive = iss.inclusive !== false;
      if (iss.origin === 'string')
        return Number(iss.minimum) === 1
          ? 'expected text, got an empty string'
          : `expected at least ${iss.minimum} characters, got ${String(iss.input).length}`;
      if (iss.origin === 'array')
        return `expected at least ${iss.minimum} item${iss.minimum === 1 ? '' : 's'}`;
      return `expected ${inclusive ? 'at least' : 'more than'} ${iss.minimum}, got ${got}`;
    }
    case 'invalid_value':
      return `expected ${iss.values.length === 1 ? shown(iss.values[0]) : `one of ${iss.values.map((v) => shown(v)).join(', ')}`}, got ${got}`;
    case 'invalid_format':
      if (iss.format === 'url') return `expected a URL such as "http://127.0.0.1:8086", got ${got}`;
      if (iss.format === 'regex') return `expected text matching ${iss.pattern}, got ${got}`;
      return `expected ${iss.format} text, got ${got}`;
    case 'not_multiple_of':
      return `expected a multiple of ${iss.divisor}, got ${got}`;
    case 'invalid_union':
      return `got ${got}, which is none of the accepted forms`;
    case 'unrecognized_keys':
      return `unknown key${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    default:
      return undefined;
  }
}

/** "did you mean" for an unknown key, when a known key is close enough to be a typo. */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const lower = key.toLowerCase();
  const exactCase = known.find((k) => k.toLowerCase() === lower);
  if (exactCase) return exactCase;
  const best = closest(key, known as string[]);
  // A typo: a swapped pair ("hots") costs 2 edits; short keys allow 1.
  return distance(key, best) <= (key.length < 4 ? 1 : Math.max(2, Math.floor(key.length / 3)))
    ? best
    : undefined;
}
