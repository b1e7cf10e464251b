import { pbkdf2, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes as one string each: `$scrypt$N=<cost>,r=<block>,p=<par>$<salt>$<hash>`
 * (salt and hash in base64). The parameters travel with the hash, so they can be raised
 * for new passwords while old lines still verify. N=2^15, r=8, p=1 is the
 * OWASP-recommended minimum for scrypt (about 32 MiB and 50-100 ms per check here): slow
 * enough to make a stolen file expensive to crack, quick enough for a device's CONNECT.
 */
export const SCRYPT_DEFAULTS = { N: 2 ** 15, r: 8, p: 1 } as const;

const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Bounds of what a hash line may ask for: a hand-edited line must not make a check take minutes or gigabytes. */
const MAX_N = 2 ** 20;
const MAX_RP = 64;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

interface Parsed extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

const memoryFor = ({ N, r, p }: ScryptParams) => 128 * N * r * p + 1024 * 1024;

/** A new salted hash of `password`. */
export async function hashPassword(
  password: string,
  params: ScryptParams = SCRYPT_DEFAULTS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, params, KEY_BYTES);
  return `$scrypt$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

function derive(password: string, salt: Buffer, params: ScryptParams, len: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, len, { ...params, maxmem: memoryFor(params) }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Reads a hash string; undefined when it is not one this hub writes. */
export function parseHash(s: string): Parsed | undefined {
  const m =
    /^\$scrypt\$N=(\d{1,8}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(s);
  if (!m) return undefined;
  const N = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  // N a power of two above 1 (scrypt's own rule), all within bounds.
  if (N < 2 || N > MAX_N || (N & (N - 1)) !== 0 || r < 1 || r > MAX_RP || p < 1 || p > MAX_RP)
    return undefined;
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return undefined;
  return { N, r, p, salt, hash };
}

/**
 * Whether `password` matches `stored`. The comparison is constant-time; an unreadable
 * hash matches nothing (and costs the same as a real check, see dummyCheck).
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m7 = MOSQUITTO.exec(stored);
  if (m7) return verifyMosquitto(password, m7);
  const h = parseHash(stored);
  if (!h) {
    await dummyCheck(password);
    return false;
  }
  const key = await derive(password, h.salt, h, h.hash.length);
  return timingSafeEqual(key, h.hash);
}

const DUMMY_SALT = randomBytes(SALT_BYTES);

/**
 * Spends what a real check spends, so an unknown user name answers as slowly as a known
 * one with a wrong password (the time does not tell which user names exist).
 */
export async function dummyCheck(password: string): Promise<void> {
  await derive(password, DUMMY_SALT, SCRYPT_DEFAULTS, KEY_BYTES);
}

/** Synchronous variant for the command line (passwd). */
export function hashPasswordSync(password: string, params: ScryptParams = SCRYPT_DEFAULTS): string {
  const salt = randomBytes(SALT_BYTES);
  const hash = scryptSync(password, salt, KEY_BYTES, { ...params, maxmem: memoryFor(params) });
  return `$scrypt$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/**
 * Mosquitto 2's `$7$<iterations>$<salt>$<hash>` lines (PBKDF2-SHA512, written by
 * mosquitto_passwd): a password file kept for Mosquitto works here as it is.
 */
const MOSQUITTO = /^\$7\$(\d{1,7})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;
const MAX_PBKDF2_ITERATIONS = 1_000_000;

async function verifyMosquitto(password: string, m: RegExpExecArray): Promise<boolean> {
  const iterations = Number(m[1]);
  const salt = Buffer.from(m[2]!, 'base64');
  const hash = Buffer.from(m[3]!, 'base64');
  if (iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS || hash.length !== 64 || salt.length < 8) {
    await dummyCheck(password);
    return false;
  }
  const key = await new Promise<Buffer>((resolve, reject) =>
    pbkdf2(password, salt, iterations, 64, 'sha512', (err, k) => (err ? reject(err) : resolve(k))),
  );
  return timingSafeEqual(key, hash);
}

/** Whether a string is a hash this hub can check (its own scrypt lines or Mosquitto's $7$). */
export function isKnownHash(s: string): boolean {
  const m = MOSQUITTO.exec(s);
  if (m) return Buffer.from(m[3]!, 'base64').length === 64 && Buffer.from(m[2]!, 'base64').length >= 8;
  return parseHash(s) !== undefined;
}
