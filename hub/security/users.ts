import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { HubError } from '../core/errors.js';
import { readPasswordFile } from './password-file.js';
import { dummyCheck, verifyPassword } from './passwords.js';

export interface UserStoreOptions {
  /** mqtt.passwordFile */
  passwordFile?: string | undefined;
  /** mqtt.users: plain-text passwords, still read (with a warning at start). */
  plain: ReadonlyArray<{ username: string; password: string }>;
  log: Logger;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The users who may sign in (MQTT and the dashboard): the password file's salted hashes,
 * and the config's plain mqtt.users. Checks take the same time whether the user exists
 * or not, and compare in constant time. A password that verified once is remembered as
 * a keyed digest, so a fleet reconnecting after a restart of the network costs one
 * scrypt per device, not one per connection.
 */
export class UserStore {
  #hashes = new Map<string, string>();
  readonly #plain = new Map<string, Buffer>();
  /** user -> HMAC of the password last verified against the current hash. */
  readonly #verified = new Map<string, Buffer>();
  readonly #key = randomBytes(32);

  constructor(private readonly opts: UserStoreOptions) {
    for (const u of opts.plain) this.#plain.set(u.username, digest(u.password));
  }

  /** Reads the password file; at start a file that cannot be read stops the hub. */
  load(): void {
    if (this.opts.plain.length > 0)
      this.opts.log.warn(
        { users: this.opts.plain.length },
        'mqtt.users holds plain-text passwords; move them to a password file (sensor-hub passwd) and set mqtt.passwordFile',
      );
    if (this.opts.passwordFile === undefined) return;
    try {
      this.#read(this.opts.passwordFile);
    } catch (err) {
      throw new HubError(
        'HUB_PASSWORD_FILE',
        `mqtt.passwordFile ${this.opts.passwordFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; create it with sensor-hub passwd -c ${this.opts.passwordFile} USER`,
      );
    }
  }

  /**
   * Reads the password file again (SIGHUP). Connections stay; a removed user or a new
   * password applies to the next sign-in. A file that cannot be read keeps the users as
   * they were.
   */
  reload(): { ok: boolean; users: number } {
    const file = this.opts.passwordFile;
    if (file === undefined) return { ok: true, users: this.size };
    try {
      this.#read(file);
      this.opts.log.info({ users: this.size }, 'password file reloaded');
      return { ok: true, users: this.size };
    } catch (err) {
      this.opts.log.error(
        { file, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message },
        'password file not reloaded; the users stay as they were',
      );
      return { ok: false, users: this.size };
    }
  }

  #read(file: string): void {
    const parsed = readPasswordFile(file);
    for (const p of parsed.problems)
      this.opts.log.warn({ file, line: p.line }, `password file: ${p.message}`);
    for (const [user, hash] of parsed.users) if (this.#hashes.get(user) !== hash) this.#verified.delete(user);
    for (const user of this.#verified.keys()) if (!parsed.users.has(user)) this.#verified.delete(user);
    this.#hashes = parsed.users;
  }

  /** Users known now (the file's and the config's). */
  get size(): number {
    let n = this.#hashes.size;
    for (const u of this.#plain.keys()) if (!this.#hashes.has(u)) n++;
    return n;
  }

  has(user: string): boolean {
    return this.#hashes.has(user) || this.#plain.has(user);
  }

  /** Whether `password` is `user`'s. The password file wins over mqtt.users for a name in both. */
  async check(user: string, password: string): Promise<boolean> {
    const hash = this.#hashes.get(user);
    if (hash !== undefined) {
      const mac = createHmac('sha256', this.#key).update(password).digest();
      const known = this.#verified.get(user);
      if (known && timingSafeEqual(known, mac)) return true;
      const ok = await verifyPassword(password, hash);
      // Only if the file did not change meanwhile.
      if (ok && this.#hashes.get(user) === hash) this.#verified.set(user, mac);
      return ok;
    }
    const plain = this.#plain.get(user);
    if (plain !== undefined) return timingSafeEqual(plain, digest(password));
    await dummyCheck(password);
    return false;
  }
}
