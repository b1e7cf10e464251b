// `npm run bench -- [name]`: runs tests/bench/<name>.ts (default: ingest).
const name = process.argv[2] ?? 'ingest';
if (!/^[a-z][a-z0-9-]*$/.test(name)) {
  process.stderr.write(`bench name must be a file name in tests/bench, got ${JSON.stringify(name)}\n`);
  process.exit(2);
}
await import(`./${name}.ts`);
