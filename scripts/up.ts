/**
 * `npm run up`: installs what is missing, starts PostgreSQL, Redis, Kafka and
 * Prometheus, then every service under apps/, and prints their URLs.
 * `npm run down` stops the services and then the infrastructure we started.
 */
import { DB_ROLES, DEV_ROLE_PASSWORD, ensureDbRoles, urlForRole } from '@bulwark/db';
import { allServers, ensureInfra } from './infra/index.ts';
import { discoverApps, localAddresses, platformUrls, startApp, stopApp } from './infra/services.ts';
import { DEMO_ADMIN, DEMO_CUSTOMER, DEMO_PASSWORD, DEMO_SKUS, DEMO_TENANT, seedDemo } from './journey.ts';

const down = process.argv.includes('--down');

/**
 * Maps infrastructure URLs to the generic names service configs read. A
 * service under row-level security takes `DATABASE_URL` from
 * `{{env:BULWARK_PG_RUNTIME_URL}}` (the runtime role) in its package.json and
 * migrates through `MIGRATION_DATABASE_URL` (the owner).
 */
function serviceEnv(infra: Record<string, string>, runtimeUrl: string): Record<string, string> {
  return {
    ...infra,
    BULWARK_PG_RUNTIME_URL: runtimeUrl,
    MIGRATION_DATABASE_URL: infra.BULWARK_PG_URL ?? '',
    DATABASE_URL: infra.BULWARK_PG_URL ?? '',
    REDIS_URL: infra.BULWARK_REDIS_URL ?? '',
    KAFKA_BROKERS: infra.BULWARK_KAFKA_BROKERS ?? '',
    SMTP_HOST: infra.BULWARK_SMTP_HOST ?? '',
    SMTP_PORT: infra.BULWARK_SMTP_PORT ?? '',
  };
}

async function main(): Promise<void> {
  const apps = discoverApps();
  if (down) {
    for (const app of [...apps].reverse()) {
      if (await stopApp(app)) console.log(`stopped ${app.name}`);
      for (const companion of app.companions ?? []) if (await stopApp(companion)) console.log(`stopped ${companion.name}`);
    }
    for (const server of [...allServers].reverse()) await server.down();
    console.log('infrastructure stopped');
    return;
  }
  const infra = await ensureInfra();
  // Dev only: the runtime and reporting roles with a well-known password (a deployment provisions its own).
  const ownerUrl = infra.BULWARK_PG_URL ?? '';
  await ensureDbRoles({ ownerUrl, password: DEV_ROLE_PASSWORD });
  const runtimeUrl = urlForRole(ownerUrl, DB_ROLES.runtime, DEV_ROLE_PASSWORD);
  console.log('infrastructure');
  for (const server of allServers.filter((s) => s.name !== 'postgres-replica')) {
    const note = server.name === 'mail' ? `  (web inbox; SMTP on ${infra.BULWARK_SMTP_HOST}:${infra.BULWARK_SMTP_PORT})` : '';
    console.log(`  ${server.name.padEnd(12)} ${server.url.replace(/:[^:@/]+@/, ':***@')}${note}`);
  }
  console.log(apps.length > 0 ? 'services' : 'services: none under apps/ yet');
  const addresses = localAddresses(apps);
  for (const app of apps) {
    for (const companion of app.companions ?? []) {
      const running = await startApp(companion, serviceEnv(infra, runtimeUrl), addresses);
      console.log(`  ${companion.name.padEnd(12)} ${running.url}  (companion of ${app.name}, log .local/services/${companion.name}.log)`);
    }
    const running = await startApp(app, serviceEnv(infra, runtimeUrl), addresses);
    console.log(`  ${app.name.padEnd(12)} ${running.url}  (openapi ${running.url}/openapi.json, log .local/services/${app.name}.log)`);
  }
  if (!apps.some((a) => a.name === 'gateway') || !apps.some((a) => a.name === 'identity')) return;
  const urls = platformUrls(apps);
  await seedDemo(urls);
  console.log(`demo data (seeded once): SKUs ${Object.keys(DEMO_SKUS).join(', ')} in stock; tenant "${DEMO_TENANT}"`);
  console.log(`  log in:  curl -s -X POST ${urls.gateway}/v1/sessions -H 'content-type: application/json' \\`);
  console.log(`             -d '{"tenant":"${DEMO_TENANT}","email":"${DEMO_CUSTOMER}","password":"${DEMO_PASSWORD}"}'`);
  console.log(`  admin:   ${DEMO_ADMIN} (same password); mails: ${urls.mail}; the whole journey: npm run demo`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
