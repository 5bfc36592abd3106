// Runs one benchmark: `npm run bench -- <name>` imports bench/<name>.ts and calls its default export.
import { runNamed } from '../scripts/run-named.ts';

await runNamed(new URL('.', import.meta.url), 'bench', process.argv[2]);
