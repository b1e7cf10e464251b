import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePasswordFile } from '../../hub/security/password-file.js';
import { verifyPassword } from '../../hub/security/passwords.js';

// `sensor-hub passwd` as a person runs it from the built CLI (npm test builds it first):
// the password piped in, or typed at a terminal.
const dir = () => mkdtempSync(join(tmpdir(), 'hub-passwd-cli-'));

interface Run {
  code: number | null;
  out: string;
}

/** Runs the CLI with `input` piped into stdin (closed afterwards). */
function piped(args: string[], input: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', ['dist/hub/cli.js', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b));
    child.stderr.on('data', (b: Buffer) => (out += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(input);
  });
}

/**
 * Runs the CLI on a terminal (script(1) gives it a pseudo-terminal) and types each
 * answer once the CLI has asked for it: what the terminal shows comes back.
 */
function typed(args: string[], answers: string[]): Promise<Run> {
  const cmd = ['node', 'dist/hub/cli.js', ...args].map((a) => `'${a}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let asked = 0;
    const onOutput = (b: Buffer) => {
      out += b;
      // One answer per prompt seen, typed after the prompt (and so after raw mode).
      const prompts = out.match(/assword: /g)?.length ?? 0;
      while (asked < prompts && asked < answers.length) child.stdin.write(answers[asked++]);
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

const users = (file: string) => parsePasswordFile(readFileSync(file, 'utf8')).users;

describe('sensor-hub passwd without -b', () => {
  it('reads the password from a pipe, one line, CRLF or none at the end, and adds users beside the others', async () => {
    const f = join(dir(), 'passwd');
    const first = await piped(['passwd', '-c', f, 'admin'], 'admin pass 1\n');
    expect(first).toEqual({ code: 0, out: `created admin in ${f}\n` });
    expect(statSync(f).mode & 0o777).toBe(0o600);

    const crlf = await piped(['passwd', f, 'kitchen'], 'kitchen-pass\r\nignored second line\r\n');
    expect(crlf).toEqual({ code: 0, out: `added kitchen in ${f}\n` });
    const bare = await piped(['passwd', f, 'admin'], 'admin pass 2');
    expect(bare).toEqual({ code: 0, out: `updated admin in ${f}\n` });

    const u = users(f);
    expect([...u.keys()]).toEqual(['admin', 'kitchen']);
    expect(await verifyPassword('kitchen-pass', u.get('kitchen')!)).toBe(true);
    expect(await verifyPassword('admin pass 2', u.get('admin')!)).toBe(true);
    expect(await verifyPassword('admin pass 1', u.get('admin')!)).toBe(false);
  });

  it('takes only its own line: the next command reading the same stdin gets the next one', async () => {
    const f = join(dir(), 'passwd');
    await piped(['passwd', '-c', f, 'admin'], 'pw\n');
    // As a script fed to the shell on stdin, or `{ echo a; echo b; } | { passwd ..; passwd ..; }`.
    const both = await new Promise<Run>((resolve, reject) => {
      const cli = `node dist/hub/cli.js passwd '${f}'`;
      const child = spawn('sh', ['-c', `${cli} a && ${cli} b && cat`], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b));
      child.stderr.on('data', (b: Buffer) => (out += b));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
      child.stdin.end('pass-of-a\npass-of-b\nleft for cat\n');
    });
    expect(both).toEqual({ code: 0, out: `added a in ${f}\nadded b in ${f}\nleft for cat\n` });
    const u = users(f);
    expect(await verifyPassword('pass-of-a', u.get('a')!)).toBe(true);
    expect(await verifyPassword('pass-of-b', u.get('b')!)).toBe(true);
  });

  it('refuses an empty stdin or an empty line with one clear line, and leaves the file as it was', async () => {
    const f = join(dir(), 'passwd');
    await piped(['passwd', '-c', f, 'admin'], 'pw\n');
    const before = readFileSync(f, 'utf8');
    const none = await piped(['passwd', f, 'kitchen'], '');
    expect(none.code).toBe(1);
    expect(none.out).toBe('error: no password on stdin (give it as a line, or use -b)\n');
    const empty = await piped(['passwd', f, 'kitchen'], '\n');
    expect(empty.code).toBe(1);
    expect(empty.out).toBe('error: empty password\n');
    expect(readFileSync(f, 'utf8')).toBe(before);
  });

  it('asks twice at a terminal without echoing, and refuses two different answers', async () => {
    const f = join(dir(), 'passwd');
    const ok = await typed(['passwd', '-c', f, 'admin'], ['typed-Secret\r', 'typed-Secret\r']);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('Password: ');
    expect(ok.out).toContain('Reenter password: ');
    expect(ok.out).not.toContain('typed-Secret');
    expect(await verifyPassword('typed-Secret', users(f).get('admin')!)).toBe(true);

    const mismatch = await typed(['passwd', f, 'admin'], ['one-Secret\r', 'two-Secret\r']);
    expect(mismatch.code).toBe(1);
    expect(mismatch.out).toContain('error: passwords do not match');
    expect(mismatch.out).not.toMatch(/one-Secret|two-Secret/);
    expect(await verifyPassword('typed-Secret', users(f).get('admin')!)).toBe(true);
  });
});
