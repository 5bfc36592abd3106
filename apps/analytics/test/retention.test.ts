/**
 * Raw retention against the real PostgreSQL: with RAW_RETENTION_DAYS set, a
 * starting instance drops the day partitions past it, and the hourly rollups
 * of those days stay, so hour and day series still answer from them.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TEST_TENANT } from '@bulwark/test-support';
import { partitionOf } from '../src/store/event-store.ts';
import { call, setupAnalytics, type TestAnalytics } from './support.ts';

const DAY = 86_400_000;
let t: TestAnalytics;

beforeAll(async () => {
  t = await setupAnalytics();
  await t.start({ WRITER_ENABLED: 'false' }); // migrates the schema
});

afterAll(() => t?.cleanup());

describe('RAW_RETENTION_DAYS', () => {
  it('when a day is past retention, then its raw partition is dropped at start and its rollups still answer series', async () => {
    const old = new Date(Math.floor(Date.now() / DAY) * DAY - 20 * DAY + 3_600_000);
    const p = partitionOf(old);
    await t.db.query(`CREATE TABLE ${p.name} PARTITION OF events FOR VALUES FROM ('${p.from}') TO ('${p.to}')`);
    await t.db.query("INSERT INTO events (tenant_id, event_id, occurred_at, type, source, props) VALUES ($1, 'old-1', $2, 'signup', 'api', '{}')", [TEST_TENANT, old]);
    await t.db.query("INSERT INTO event_rollups_hourly (tenant_id, type, field, bucket, n) VALUES ($1, 'signup', '', $2, 1)", [TEST_TENANT, old]);
    const kept = partitionOf(new Date(Date.now() - 8 * DAY)).name; // within ACCEPT_PAST_DAYS + 2: never dropped

    const { url } = await t.start({ WRITER_ENABLED: 'false', ACCEPT_PAST_DAYS: '7', RAW_RETENTION_DAYS: '3' });
    const { rows } = await t.db.query<{ name: string | null; kept: string | null }>('SELECT to_regclass($1)::text AS name, to_regclass($2)::text AS kept', [p.name, kept]);
    expect(rows[0]).toEqual({ name: null, kept });
    const range = `from=${encodeURIComponent(p.from)}&to=${encodeURIComponent(p.to)}`;
    const rollup = await call(url, 'GET', `/v1/series?type=signup&bucket=day&${range}`);
    expect(rollup.body).toMatchObject({ source: 'rollup', points: [{ at: p.from, value: 1, count: 1 }] });
    const raw = await call(url, 'GET', `/v1/series?type=signup&bucket=day&${range}&source=raw`);
    expect(raw.body).toMatchObject({ source: 'raw', points: [] });
  });
});
