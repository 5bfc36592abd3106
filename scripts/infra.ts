/**
 * `npm run infra -- up|down|status|logs [server...]`: the real PostgreSQL,
 * Redis, Kafka and Prometheus the platform runs against on a machine without
 * Docker, each in its own directory under .local/ on its own port.
 */
import { allServers, ensureInfra, selectServers } from './infra/index.ts';
import { printLogTails } from './infra/proc.ts';

const [command = 'status', ...names] = process.argv.slice(2);

async function status(): Promise<number> {
  let bad = 0;
  for (const server of names.length > 0 ? selectServers(names) : allServers) {
    const s = await server.status();
    if (!s.healthy && names.length > 0) bad++;
    const state = s.healthy ? 'up' : 'down';
    const owner = s.healthy ? (s.ours ? 'started by bulwark' : 'not ours, reused') : '';
    console.log(`${server.name.padEnd(18)} ${state.padEnd(5)} ${server.url.replace(/:[^:@/]+@/, ':***@').padEnd(44)} ${owner}`);
  }
  return bad === 0 ? 0 : 1;
}

async function main(): Promise<number> {
  switch (command) {
    case 'up':
      await ensureInfra(names);
      return status();
    case 'down':
      for (const server of selectServers(names.length > 0 ? names : allServers.map((s) => s.name)).reverse()) await server.down();
      return status();
    case 'status':
      return status();
    case 'logs':
      printLogTails(selectServers(names));
      return 0;
    default:
      console.error('usage: npm run infra -- up|down|status|logs [postgres|postgres-replica|redis|kafka|prometheus ...]');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
