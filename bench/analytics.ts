/**
 * Analytics ingestion end to end (issue 31): the real service in process
 * (REST → Kafka analytics.ingest → the writer → daily PostgreSQL partitions)
 * loaded for BENCH_SECONDS by BENCH_CLIENTS concurrent clients posting
 * batches of BENCH_BATCH events; the rate counts from the first request to
 * the moment the last accepted event is in PostgreSQL (so ingestion lag is
 * inside it). Baselines in the same run, on the same rows: a raw `COPY` into
 * an events table of the same shape (no Kafka, no HTTP, no dedup), and the
 * writer's own statement (INSERT … unnest … ON CONFLICT DO NOTHING) alone.
 * Own schemas, topic and group; dropped at the end.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Registry } from 'prom-client';
import { createPool, DB_ROLES, DEV_ROLE_PASSWORD, ensureDbRoles, urlForRole, withSystemContext, withTransaction } from '@bulwark/db';
import { connectAdmin, createKafka } from '@bulwark/events';
import { loadConfig } from '@bulwark/service-kit';
import { silent } from '@bulwark/test-support';
import { ensureInfra } from '../scripts/infra/index.ts';
import { createAnalyticsApp } from '../apps/analytics/src/app.ts';
import { analyticsConfigSchema } from '../apps/analytics/src/config.ts';
import type { AnalyticsEvent } from '../apps/analytics/src/domain/event-types.ts';
import { insertEvents } from '../apps/analytics/src/store/event-store.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const TENANT = 'bench-tenant';

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;
let seq = 0;
const apiEvent = () => {
  const i = seq++;
  return { id: `ev-${i}`, type: 'purchase', occurredAt: new Date(Date.now() - (i % 3_600_000)).toISOString(), userId: `u-${i % 1000}`, props: { orderId: `o-${i}`, amountCents: i % 10_000, currency: 'EUR' } };
};
const csv = (v: string | null) => (v === null ? '' : `"${v.replaceAll('"', '""')}"`);

export default async function bench(): Promise<void> {
  const env = await ensureInfra(['postgres', 'kafka']);
  const ownerUrl = env.BULWARK_PG_URL!;
  await ensureDbRoles({ ownerUrl, password: DEV_ROLE_PASSWORD });
  const id = randomUUID().replaceAll('-', '').slice(0, 8);
  const schemas = { app: `bench_analytics_${id}`, copy: `bench_analytics_copy_${id}`, insert: `bench_analytics_insert_${id}` };
  const topic = `analytics.ingest.bench.${id}`;
  const config = loadConfig(analyticsConfigSchema, {
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn',
    DATABASE_URL: urlForRole(ownerUrl, DB_ROLES.runtime, DEV_ROLE_PASSWORD), MIGRATION_DATABASE_URL: ownerUrl,
    ANALYTICS_SCHEMA: schemas.app, KAFKA_BROKERS: env.BULWARK_KAFKA_BROKERS!, INGEST_TOPIC: topic, PLATFORM_TOPICS: '',
    WRITER_GROUP: `analytics-bench-${id}`, WRITER_SESSION_TIMEOUT_MS: '6000', WRITER_MAX_WAIT_MS: '100',
  });
  const app = createAnalyticsApp({ config, logDestination: devNull as never });
  const { url } = await app.start();
  const owner = createPool({ connectionString: ownerUrl, name: 'bench-analytics-owner', max: 2, statementTimeoutMs: 0, registry: new Registry(), log: silent });
  const count = async (schema: string) => Number((await owner.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".events`)).rows[0]!.n);
  const sent: AnalyticsEvent[] = [];
  try {
    // End to end: REST → Kafka → writer → PostgreSQL.
    const started = performance.now();
    const until = started + SECONDS * 1000;
    let accepted = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < until) {
          const events = Array.from({ length: BATCH }, apiEvent);
          const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-auth-tenant': TENANT }, body: JSON.stringify({ events }) });
          const body = (await res.json()) as { accepted?: number };
          if (res.status !== 202) throw new Error(`POST /v1/events: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
          accepted += body.accepted ?? 0;
          for (const e of events) sent.push({ tenant: TENANT, id: e.id, type: e.type, occurredAt: new Date(e.occurredAt).toISOString(), userId: e.userId, source: 'api', props: e.props });
        }
      }),
    );
    const acceptedAt = performance.now();
    while ((await count(schemas.app)) < accepted) await new Promise((r) => setTimeout(r, 50));
    const storedAt = performance.now();
    const e2e = accepted / ((storedAt - started) / 1000);
    const api = accepted / ((acceptedAt - started) / 1000);

    // Baselines on the same rows: the same table shape in other schemas (migrated and partitioned like the app's).
    for (const schema of [schemas.copy, schemas.insert]) {
      await owner.query(`CREATE SCHEMA "${schema}"`);
      await owner.query(`CREATE TABLE "${schema}".events (LIKE "${schemas.app}".events INCLUDING ALL) PARTITION BY RANGE (occurred_at)`);
      await owner.query(`CREATE TABLE "${schema}".events_all PARTITION OF "${schema}".events FOR VALUES FROM ('2000-01-01') TO ('2100-01-01')`);
      await owner.query(`CREATE TABLE "${schema}".event_rollups_hourly (LIKE "${schemas.app}".event_rollups_hourly INCLUDING ALL)`);
    }
    const client = new pg.Client({ connectionString: ownerUrl });
    await client.connect();
    const copyStart = performance.now();
    const lines = function* () {
      for (let i = 0; i < sent.length; i += 1000) {
        yield sent.slice(i, i + 1000).map((e) => [csv(e.tenant), csv(e.id), e.occurredAt, csv(e.type), csv(e.source), csv(e.userId), csv(JSON.stringify(e.props))].join(',') + '\n').join('');
      }
    };
    await pipeline(Readable.from(lines()), client.query(copyFrom(`COPY "${schemas.copy}".events (tenant_id, event_id, occurred_at, type, source, user_id, props) FROM STDIN WITH (FORMAT csv, NULL '')`)));
    const copyRate = sent.length / ((performance.now() - copyStart) / 1000);
    await client.end();
    const insertPool = createPool({ connectionString: ownerUrl, name: 'bench-analytics-insert', max: 1, statementTimeoutMs: 0, searchPath: [schemas.insert], registry: new Registry(), log: silent });
    const insertStart = performance.now();
    for (let i = 0; i < sent.length; i += 1000) await withSystemContext(insertPool, 'bench.analytics', () => withTransaction(insertPool, (tx) => insertEvents(tx, sent.slice(i, i + 1000))));
    const insertRate = sent.length / ((performance.now() - insertStart) / 1000);
    await insertPool.close();

    console.log(`analytics ingestion, ${SECONDS}s, ${CLIENTS} clients × batches of ${BATCH}: ${accepted} events accepted`);
    console.log(`  REST accept rate (202, in Kafka)          ${api.toFixed(0)} events/s`);
    console.log(`  end to end REST → Kafka → PostgreSQL      ${e2e.toFixed(0)} events/s (last event stored ${((storedAt - acceptedAt) / 1000).toFixed(2)} s after the last 202)`);
    console.log(`  baseline raw COPY of the same rows         ${copyRate.toFixed(0)} events/s`);
    console.log(`  writer statement alone (INSERT unnest ON CONFLICT + hourly rollup upsert, 1,000/tx)  ${insertRate.toFixed(0)} events/s`);
    console.log(`  ratio end to end / COPY: ${(e2e / copyRate).toFixed(3)}×; INSERT … ON CONFLICT / COPY: ${(insertRate / copyRate).toFixed(3)}×`);
  } finally {
    await app.service.stop().catch(() => undefined);
    for (const schema of Object.values(schemas)) await owner.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await owner.close();
    const admin = await connectAdmin(createKafka({ brokers: env.BULWARK_KAFKA_BROKERS!.split(','), clientId: `bench-analytics-${id}` }));
    await admin.deleteTopics([topic]).catch(() => undefined);
    await admin.deleteGroups([`analytics-bench-${id}`]).catch(() => undefined);
    await admin.disconnect();
  }
}
