/**
 * One runner for `npm run bench -- <name>` and `npm run soak -- <name>`:
 * imports `<dir>/<name>.ts` and awaits its default export; an unknown or
 * missing name lists what there is and exits 2.
 */
import { readdirSync } from 'node:fs';

export async function runNamed(dir: URL, command: string, name: string | undefined): Promise<void> {
  const available = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
    .map((f) => f.slice(0, -3));
  if (!name || !available.includes(name)) {
    console.error(`usage: npm run ${command} -- <name>\navailable: ${available.join(', ') || '(none)'}`);
    process.exit(2);
  }
  const mod = (await import(new URL(`${name}.ts`, dir).href)) as { default: () => Promise<void> };
  await mod.default();
}
