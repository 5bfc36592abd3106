// Runs one benchmark: `npm run bench -- <name>` imports bench/<name>.ts and calls its default export.
import { readdirSync } from 'node:fs';

const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3));
const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name>\navailable benches: ${available.join(', ') || '(none)'}`);
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { default: () => Promise<void> };
await mod.default();
