// Runs one soak: `npm run soak -- <name>` imports scripts/soak/<name>.ts and calls its default export.
// Soaks kill and restart real processes for minutes; they stay outside `npm test`.
import { runNamed } from '../run-named.ts';

await runNamed(new URL('.', import.meta.url), 'soak', process.argv[2]);
process.exit(process.exitCode ?? 0);
