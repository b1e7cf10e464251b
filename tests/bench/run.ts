// npm run bench -- [name]: runs tests/bench/<name>.ts (default: ingest; each prints its own report).
import { readdirSync } from 'node:fs';

const name = process.argv[2] ?? 'ingest';
const known = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3));
if (!name || !known.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name>\nknown: ${known.join(', ')}\n`);
  process.exit(2);
}
await import(`./${name}.ts`);
