import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Writes JSON so that a reader (or the next start after a crash) sees the old file or
 * the new one, never a part: a temporary file in the same folder, synced, then renamed
 * over the old one, and the folder synced so the rename itself survives a power cut.
 */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const f = await open(tmp, 'w', 0o600);
    try {
      await f.writeFile(`${JSON.stringify(value, null, 2)}\n`);
      await f.sync();
    } finally {
      await f.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Some file systems do not sync folders; the rename is done either way.
  }
}

/**
 * Reads a JSON file written by writeJsonAtomic: undefined when there is none. A file
 * that does not parse (edited by hand) throws with its path, so nothing is silently
 * reset.
 */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}
