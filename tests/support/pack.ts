import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface PackedFile {
  path: string;
  size: number;
}

/**
 * npm pack of the repository as it is built now (`npm test` builds first; alone, run
 * `npm run build`). Scripts are skipped: prepare would build again.
 */
export function pack(opts: { dryRun?: boolean; destination?: string } = {}): {
  filename: string;
  files: PackedFile[];
} {
  if (!existsSync(`${ROOT}/dist/hub/index.js`))
    throw new Error('dist/ is not built: run npm run build first');
  const args = ['pack', '--json', '--ignore-scripts'];
  if (opts.dryRun) args.push('--dry-run');
  if (opts.destination) args.push('--pack-destination', opts.destination);
  const out = execFileSync('npm', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [info] = JSON.parse(out) as Array<{ filename: string; files: PackedFile[] }>;
  return info!;
}
