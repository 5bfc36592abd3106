// Runs one soak: `npm run soak -- <name>` imports scripts/soak/<name>.ts and calls its default export.
// Soaks kill and restart real processes for minutes; they stay outside `npm test`.
import { readdirSync } from 'node:fs';

const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3));
const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run soak -- <name>\navailable soaks: ${available.join(', ') || '(none)'}`);
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { default: () => Promise<void> };
await mod.default();
process.exit(process.exitCode ?? 0);
