/**
 * The catalog as `npm run up` runs it: src/main.ts in its own process, which
 * migrates, seeds the demo catalog for the tenant it is given, answers
 * searches, and on SIGTERM drains and exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { startService, TEST_TENANT, type Service } from '@bulwark/test-support';
import { call, setupCatalog, type TestCatalog } from './support.ts';

describe('catalog as a process', () => {
  let env: TestCatalog;
  let catalog: Service | undefined;
  beforeAll(async () => {
    env = await setupCatalog();
  });
  afterAll(async () => {
    await catalog?.stop();
    await env.cleanup();
  });

  it('when main.ts starts with a seed tenant, then it is ready with the demo catalog searchable, and SIGTERM ends it with exit code 0', async () => {
    const { PORT: _port, ...childEnv } = env.env({ CATALOG_SEED_TENANT: TEST_TENANT, CATALOG_SEED_COUNT: '200', SHUTDOWN_DELAY_MS: '0' });
    catalog = await startService({ name: 'catalog', main: 'src/main.ts', cwd: fileURLToPath(new URL('..', import.meta.url)), env: childEnv });
    const found = await call(catalog.url, 'GET', '/v1/products/search?q=bialeti+moka&limit=1');
    expect(found.status).toBe(200);
    expect(found.body.items[0].slug).toBe('bialetti-moka-express');
    expect((await call(catalog.url, 'GET', '/readyz')).status).toBe(200);
    expect(await catalog.kill('SIGTERM')).toBe(0);
  });
});
