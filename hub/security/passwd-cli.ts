import { existsSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { parsePasswordFile, validUserName, withUser } from './password-file.js';
import { hashPassword } from './passwords.js';

export interface PasswdArgs {
  file: string;
  user: string;
  password?: string | undefined;
  create?: boolean;
  batch?: boolean;
  delete?: boolean;
}

/** An error for the person at the command line: printed as it is, exit code 1. */
export class PasswdError extends Error {}

/** Where passwords come from when they are not on the command line. */
export interface PasswordInput {
  /** A person types (no echo): asked twice, so a typing mistake is caught. */
  confirm: boolean;
  ask(prompt: string): Promise<string>;
  /** Lets go of stdin, so the process can end. */
  close(): void;
}

/**
 * The terminal, without echo, when stdin is one; otherwise one line of stdin (a pipe or
 * a file: `echo "$PW" | sensor-hub passwd FILE USER`).
 */
export function stdinPasswords(stdin: NodeJS.ReadStream = process.stdin): PasswordInput {
  if (stdin.isTTY) return terminalPasswords(stdin);
  return {
    confirm: false,
    ask: async () => {
      const line = readLineSync(0);
      if (line === undefined) throw new PasswdError('no password on stdin (give it as a line, or use -b)');
      return line;
    },
    close: () => {},
  };
}

/**
 * One line of `fd`, read a byte at a time as the shell's `read` does: whatever follows
 * stays for the next reader (the next command of a script fed to the shell on stdin, the
 * next `passwd` of `{ echo a; echo b; } | { passwd f a; passwd f b; }`). Undefined at
 * the end of input before any byte.
 */
export function readLineSync(fd: number): string | undefined {
  const bytes: number[] = [];
  const one = Buffer.alloc(1);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, one, 0, 1, null);
    } catch (err) {
      // A non-blocking pipe with nothing in it yet: wait a little, then read again.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      continue;
    }
    if (n === 0) {
      if (bytes.length === 0) return undefined;
      break;
    }
    if (one[0] === 0x0a) break;
    // A line longer than any password is not a password: stop reading, say so.
    if (bytes.length >= 4096) throw new PasswdError('the line on stdin is too long for a password');
    bytes.push(one[0]!);
  }
  if (bytes.at(-1) === 0x0d) bytes.pop();
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Reads lines from a terminal in raw mode: nothing typed is echoed. What was typed past
 * an Enter (a paste of both answers) is kept for the next question.
 */
function terminalPasswords(stdin: NodeJS.ReadStream): PasswordInput {
  let ahead = '';
  const ask = (prompt: string) =>
    new Promise<string>((resolve, reject) => {
      // Raw before the prompt: a key pressed as the prompt appears is not echoed either.
      stdin.setRawMode(true);
      process.stderr.write(prompt);
      let typed = '';
      const take = (s: string): boolean => {
        for (let i = 0; i < s.length; i++) {
          const ch = s[i]!;
          if (ch === '\r' || ch === '\n') {
            ahead = s.slice(s[i + 1] === '\n' && ch === '\r' ? i + 2 : i + 1);
            done();
            resolve(typed);
            return true;
          }
          // Ctrl-C, or Ctrl-D on an empty line.
          if (ch === '\u0003' || (ch === '\u0004' && typed === '')) {
            done();
            reject(new PasswdError('cancelled'));
            return true;
          }
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
          else typed += ch;
        }
        return false;
      };
      const onData = (s: string) => void take(s);
      const done = () => {
        stdin.off('data', onData);
        stdin.setRawMode(false);
        stdin.pause();
        process.stderr.write('\n');
      };
      const early = ahead;
      ahead = '';
      if (take(early)) return;
      stdin.setEncoding('utf8');
      stdin.on('data', onData);
      stdin.resume();
    });
  return { confirm: true, ask, close: () => {} };
}

/**
 * `sensor-hub passwd [-c] [-b] [-D] FILE USER [PASSWORD]`, as mosquitto_passwd: -c
 * creates (or overwrites) the file, -b takes the password from the command line (it
 * then shows in the shell's history and the process list: for scripts), -D deletes
 * the user; otherwise it prompts twice without echo (or reads one line of stdin when
 * that is not a terminal). The file is replaced whole
 * (mode 0600 when created), so the hub never reads half of it.
 */
export async function passwd(args: PasswdArgs, input?: PasswordInput): Promise<string> {
  const { file, user } = args;
  if (!validUserName(user))
    throw new PasswdError(`invalid user name ${JSON.stringify(user)}: no ':' or control characters`);
  if (args.create && args.delete) throw new PasswdError('-c and -D cannot be used together');
  if (args.batch && args.password === undefined)
    throw new PasswdError('-b needs the password after the user name');
  if (!args.batch && args.password !== undefined)
    throw new PasswdError('a password on the command line needs -b');
  const exists = existsSync(file);
  if (!args.create && !exists) throw new PasswdError(`${file} does not exist (create it with -c)`);
  const lines = args.create ? [] : parsePasswordFile(readFileSync(file, 'utf8')).lines;
  let next: string[];
  let said: string;
  if (args.delete) {
    if (!parsePasswordFile(lines.join('\n')).users.has(user))
      throw new PasswdError(`user ${user} not in ${file}`);
    next = withUser(lines, user, undefined);
    said = `deleted ${user} from ${file}`;
  } else {
    let password = args.password;
    if (password === undefined) {
      const from = input ?? stdinPasswords();
      try {
        password = await from.ask('Password: ');
        if (from.confirm && (await from.ask('Reenter password: ')) !== password)
          throw new PasswdError('passwords do not match');
      } finally {
        if (!input) from.close();
      }
    }
    if (password.length === 0) throw new PasswdError('empty password');
    next = withUser(lines, user, await hashPassword(password));
    const had = !args.create && parsePasswordFile(lines.join('\n')).users.has(user);
    said = `${had ? 'updated' : args.create || !exists ? 'created' : 'added'} ${user} in ${file}`;
  }
  const mode = exists && !args.create ? statSync(file).mode & 0o777 : 0o600;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, next.length > 0 ? `${next.join('\n')}\n` : '', { mode });
  renameSync(tmp, file);
  return said;
}
