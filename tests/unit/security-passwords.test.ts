import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { passwd } from '../../hub/security/passwd-cli.js';
import { parsePasswordFile } from '../../hub/security/password-file.js';
import { hashPassword, parseHash, verifyPassword } from '../../hub/security/passwords.js';
import { UserStore } from '../../hub/security/users.js';

const fast = { N: 2 ** 10, r: 8, p: 1 };
const dir = () => mkdtempSync(join(tmpdir(), 'hub-pw-'));

describe('password hashes', () => {
  it('carry their scrypt parameters, so raised parameters and old lines both verify', async () => {
    const old = await hashPassword('s3cret', fast);
    const raised = await hashPassword('s3cret', { N: 2 ** 11, r: 8, p: 2 });
    expect(old).toMatch(/^\$scrypt\$N=1024,r=8,p=1\$/);
    expect(parseHash(raised)).toMatchObject({ N: 2048, r: 8, p: 2 });
    expect(await verifyPassword('s3cret', old)).toBe(true);
    expect(await verifyPassword('s3cret', raised)).toBe(true);
    expect(await verifyPassword('s3cret ', old)).toBe(false);
    // Salted: the same password hashes differently each time.
    expect(await hashPassword('s3cret', fast)).not.toBe(old);
  });

  it('refuse hostile parameters instead of spending minutes or gigabytes', async () => {
    for (const bad of [
      '$scrypt$N=1073741824,r=8,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==',
      '$scrypt$N=1000,r=8,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==',
      '$scrypt$N=1024,r=999,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==',
      '$scrypt$N=1024,r=8,p=1$$',
      'plain-text',
      '',
    ]) {
      expect(parseHash(bad)).toBeUndefined();
      expect(await verifyPassword('x', bad)).toBe(false);
    }
  });

  it("read Mosquitto's $7$ lines as mosquitto_passwd writes them", async () => {
    const f = join(dir(), 'mosq');
    writeFileSync(f, '');
    execFileSync('mosquitto_passwd', ['-b', f, 'alice', 'wonder land']);
    const { users, problems } = parsePasswordFile(readFileSync(f, 'utf8'));
    expect(problems).toEqual([]);
    expect(await verifyPassword('wonder land', users.get('alice')!)).toBe(true);
    expect(await verifyPassword('wonderland', users.get('alice')!)).toBe(false);
  });
});

describe('password file', () => {
  it('reports bad lines by number without showing their hashes, and keeps the good ones', () => {
    const text = ['# users', 'alice:$7$101$c2FsdHNhbHQ=$xx', '__proto__:nothash', ':x', 'bob'].join('\n');
    const { users, problems } = parsePasswordFile(text);
    expect(users.size).toBe(0);
    expect(problems.map((p) => p.line)).toEqual([2, 3, 4, 5]);
    expect(JSON.stringify(problems)).not.toContain('nothash');
  });
});

describe('sensor-hub passwd', () => {
  it('creates (-c, mode 0600), adds, changes and deletes (-D) users as mosquitto_passwd does', async () => {
    const f = join(dir(), 'passwd');
    await expect(passwd({ file: f, user: 'a', password: 'pw', batch: true })).rejects.toThrow(
      /does not exist/,
    );
    await passwd({ file: f, user: 'a', password: 'pw-a', batch: true, create: true });
    expect(statSync(f).mode & 0o777).toBe(0o600);
    writeFileSync(f, `# kept\n${readFileSync(f, 'utf8')}`, { mode: 0o600 });
    await passwd({ file: f, user: 'b', password: 'pw-b', batch: true });
    await passwd({ file: f, user: 'a', password: 'pw-a2', batch: true });
    const parsed = parsePasswordFile(readFileSync(f, 'utf8'));
    expect(parsed.lines[0]).toBe('# kept');
    expect([...parsed.users.keys()]).toEqual(['a', 'b']);
    expect(await verifyPassword('pw-a2', parsed.users.get('a')!)).toBe(true);
    expect(readFileSync(f, 'utf8')).not.toContain('pw-');
    await passwd({ file: f, user: 'a', delete: true });
    expect([...parsePasswordFile(readFileSync(f, 'utf8')).users.keys()]).toEqual(['b']);
    await expect(passwd({ file: f, user: 'a', delete: true })).rejects.toThrow(/not in/);
  });

  it('prompts twice without -b and refuses a mismatch, a password without -b, a bad user name', async () => {
    const f = join(dir(), 'passwd');
    const typed = (answers: string[]) => ({
      confirm: true,
      ask: async () => answers.shift()!,
      close: () => {},
    });
    await expect(passwd({ file: f, user: 'a', create: true }, typed(['one', 'two']))).rejects.toThrow(
      /do not match/,
    );
    await passwd({ file: f, user: 'a', create: true }, typed(['same', 'same']));
    expect(await verifyPassword('same', parsePasswordFile(readFileSync(f, 'utf8')).users.get('a')!)).toBe(
      true,
    );
    await expect(passwd({ file: f, user: 'a', password: 'x' })).rejects.toThrow(/needs -b/);
    await expect(passwd({ file: f, user: 'a:b', password: 'x', batch: true })).rejects.toThrow(
      /invalid user/,
    );
    await expect(passwd({ file: f, user: 'a', create: true, delete: true })).rejects.toThrow(/together/);
  });
});

describe('users', () => {
  it('checks the password file and plain mqtt.users; a reload applies new and removed users, a broken file keeps the old ones', async () => {
    const f = join(dir(), 'passwd');
    await passwd({ file: f, user: 'a', password: 'pw-a', batch: true, create: true });
    const store = new UserStore({
      passwordFile: f,
      plain: [{ username: 'p', password: 'plain' }],
      log: pino({ level: 'silent' }),
    });
    store.load();
    expect(await store.check('a', 'pw-a')).toBe(true);
    expect(await store.check('a', 'pw-a')).toBe(true);
    expect(await store.check('a', 'nope')).toBe(false);
    expect(await store.check('p', 'plain')).toBe(true);
    expect(await store.check('nobody', 'x')).toBe(false);
    expect(await store.check('__proto__', 'x')).toBe(false);
    await passwd({ file: f, user: 'a', password: 'pw-new', batch: true });
    await passwd({ file: f, user: 'b', password: 'pw-b', batch: true });
    expect(store.reload()).toEqual({ ok: true, users: 3 });
    expect(await store.check('a', 'pw-a')).toBe(false);
    expect(await store.check('a', 'pw-new')).toBe(true);
    expect(await store.check('b', 'pw-b')).toBe(true);
    writeFileSync(f, '');
    execFileSync('chmod', ['000', f]);
    if (process.getuid?.() !== 0) {
      expect(store.reload().ok).toBe(false);
      expect(await store.check('b', 'pw-b')).toBe(true);
    }
  });
});
