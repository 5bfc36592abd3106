import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { baseConfigSchema, createService, loadConfig, type Service } from '@bulwark/service-kit';
import { call, silent } from '@bulwark/test-support';
import { watchNPlusOne, type NPlusOneWatch } from '@bulwark/test-support/n-plus-one';
import { createPool, gatewayTenantScope, type DbPool } from '../src/index.ts';
import { metricValue, pgUrl, waitFor } from './support.ts';

// A real service on the kit with the tenant scope every db service uses: one request is one work.
let service: Service;
let pool: DbPool;
let url: string;
let watch: NPlusOneWatch;

beforeAll(async () => {
  watch = watchNPlusOne({ threshold: 4 });
  service = createService({
    name: 'request-tracking-test',
    config: loadConfig(baseConfigSchema, { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'error' }),
    logDestination: { write: () => true },
    ...gatewayTenantScope,
    routes(r, kit) {
      pool = createPool({ connectionString: pgUrl(), name: 'request-tracking', registry: kit.metrics, log: silent });
      r.get('/v1/items/:n', {
        summary: 'One statement per item (an N+1 on purpose)',
        params: z.object({ n: z.coerce.number().int().min(0).max(20) }),
        responses: { 200: z.object({ ids: z.array(z.number()) }) },
        handler: async ({ params }) => {
          const ids: number[] = [];
          for (let i = 0; i < params.n; i++) {
            const { rows } = await pool.query<{ id: number }>({ name: 'items.byId', text: 'SELECT $1::int AS id', values: [i] });
            ids.push(rows[0]!.id);
          }
          return { status: 200, body: { ids } };
        },
      });
    },
  });
  url = (await service.start()).url;
});

afterAll(async () => {
  watch.stop();
  await service.stop();
  await pool.close();
});

describe('request tracking', () => {
  it('when a request runs one statement per item, then the N+1 is reported with its route; separate requests are not added up', async () => {
    for (let i = 0; i < 3; i++) expect((await call(url, 'GET', '/v1/items/3', undefined, { 'x-auth-tenant': 'acme' })).status).toBe(200);
    expect(watch.take()).toEqual([]);

    expect((await call(url, 'GET', '/v1/items/6', undefined, { 'x-auth-tenant': 'acme' })).status).toBe(200);
    const reports = watch.take();
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ work: 'GET /v1/items/:n', kind: 'request', statement: 'items.byId', shape: 'SELECT ?::int AS id', count: 4, pool: 'request-tracking' });
  });

  it('when a response closes, then its statements are observed per work', async () => {
    const before = await metricValue(service.metrics, 'db_work_statements', { pool: 'request-tracking', kind: 'request' }, 'db_work_statements_sum');
    await call(url, 'GET', '/v1/items/2', undefined, { 'x-auth-tenant': 'acme' });
    await waitFor(async () => (await metricValue(service.metrics, 'db_work_statements', { pool: 'request-tracking', kind: 'request' }, 'db_work_statements_sum')) === before + 2, 'the work observed at close');
  });
});
