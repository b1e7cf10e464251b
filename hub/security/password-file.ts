import { readFileSync } from 'node:fs';
import { isKnownHash } from './passwords.js';

/**
 * A password file: one `user:hash` line per user, as mosquitto_passwd writes them; blank
 * lines and lines starting with `#` are kept as they are.
 */
export interface PasswordLine {
  user: string;
  hash: string;
}

export interface ParsedPasswordFile {
  users: Map<string, string>;
  /** Lines that are not `user:hash`, by line number (1-based), with why. */
  problems: Array<{ line: number; message: string }>;
  /** Every line as read, so a rewrite keeps comments and order. */
  lines: string[];
}

/** A user name: no `:` (the separator), no control characters, at most 256 characters. */
export const validUserName = (u: string) =>
  u.length > 0 &&
  u.length <= 256 &&
  !u.includes(':') &&
  ![...u].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

export function parsePasswordFile(text: string): ParsedPasswordFile {
  const users = new Map<string, string>();
  const problems: ParsedPasswordFile['problems'] = [];
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = line.indexOf(':');
    const user = at > 0 ? line.slice(0, at) : '';
    const hash = at > 0 ? line.slice(at + 1) : '';
    if (!validUserName(user)) {
      problems.push({ line: i + 1, message: 'expected user:hash' });
      return;
    }
    if (!isKnownHash(hash)) {
      // The hash itself is never shown: it is a secret too.
      problems.push({
        line: i + 1,
        message: `user ${JSON.stringify(user)}: not a hash this hub reads ($scrypt$ or $7$)`,
      });
      return;
    }
    if (users.has(user))
      problems.push({ line: i + 1, message: `user ${JSON.stringify(user)} again: the last line wins` });
    users.set(user, hash);
  });
  return { users, problems, lines };
}

export function readPasswordFile(path: string): ParsedPasswordFile {
  return parsePasswordFile(readFileSync(path, 'utf8'));
}

/** The file's text with `user` set to `hash` (replacing its line, or appended), or removed when hash is undefined. */
export function withUser(lines: readonly string[], user: string, hash: string | undefined): string[] {
  const out: string[] = [];
  let done = false;
  for (const raw of lines) {
    const t = raw.trim();
    const at = t.indexOf(':');
    if (!t.startsWith('#') && at > 0 && t.slice(0, at) === user) {
      if (hash !== undefined && !done) out.push(`${user}:${hash}`);
      done = true;
      continue;
    }
    out.push(raw);
  }
  if (!done && hash !== undefined) out.push(`${user}:${hash}`);
  return out;
}
