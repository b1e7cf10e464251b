import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
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

/** Reads a password from the terminal without echo, or a line from stdin when it is not a terminal. */
export async function promptPassword(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const chunk of stdin) {
      text += chunk;
      if (text.includes('\n')) break;
    }
    return text.split(/\r?\n/)[0] ?? '';
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let typed = '';
    const onData = (s: string) => {
      for (const ch of s) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(typed);
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(new PasswdError('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

/**
 * `sensor-hub passwd [-c] [-b] [-D] FILE USER [PASSWORD]`, as mosquitto_passwd: -c
 * creates (or overwrites) the file, -b takes the password from the command line (it
 * then shows in the shell's history and the process list: for scripts), -D deletes
 * the user; otherwise it prompts twice without echo. The file is replaced whole
 * (mode 0600 when created), so the hub never reads half of it.
 */
export async function passwd(
  args: PasswdArgs,
  ask: (prompt: string) => Promise<string> = promptPassword,
): Promise<string> {
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
      password = await ask('Password: ');
      const again = await ask('Reenter password: ');
      if (password !== again) throw new PasswdError('passwords do not match');
    }
    if (password.length === 0) throw new PasswdError('empty password');
    next = withUser(lines, user, await hashPassword(password));
    said = `${exists && !args.create ? 'updated' : 'created'} ${user} in ${file}`;
  }
  const mode = exists && !args.create ? statSync(file).mode & 0o777 : 0o600;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, next.length > 0 ? `${next.join('\n')}\n` : '', { mode });
  renameSync(tmp, file);
  return said;
}
