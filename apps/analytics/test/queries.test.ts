/**
 * The read side against the real PostgreSQL and Kafka, on events sent through
 * the API and stored by the writer: series from the hourly rollups and from
 * the raw events (the same numbers; a late event and a resend), exact
 * percentiles, property filters and user segments, a funnel, cohort
 * retention, the export through a cursor (several FETCHes), the live feed
 * (SSE, resumed by Last-Event-ID) and flag exposures from flags' topic.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { connectAdmin, createKafka, createProducer, type EventProducer } from '@bulwark/events';
import { kafkaBrokers, silent, TEST_TENANT } from '@bulwark/test-support';
import { FLAGS_EVENTS, flagsEventSchemas } from '../../flags/src/events/flags-events.ts';
import { call, setupAnalytics, waitFor, type TestAnalytics } from './support.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Start of the UTC day three days ago: every event lies within ACCEPT_PAST_DAYS. */
const D = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;
const at = (ms: number) => new Date(D + ms).toISOString();
const iso = (ms: number) => encodeURIComponent(at(ms));

let t: TestAnalytics;
let url: string;
let flags: EventProducer;
let flagsTopic: string;

const post = async (events: unknown[]) => {
  const res = await call(url, 'POST', '/v1/events', { events });
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ rejected: 0 });
};
const get = async <T>(path: string, headers: Record<string, string> = {}) => {
  const res = await call(url, 'GET', path, undefined, headers);
  expect({ path, status: res.status }).toEqual({ path, status: 200 });
  return res.body as T;
};
type Series = { source: string; points: { at: string; value: number | null; count: number }[] };

const purchases = Array.from({ length: 10 }, (_, i) => ({
  id: `p-${i + 1}`, type: 'purchase', occurredAt: at(HOUR + i * 5 * 60_000), userId: `u${i + 1}`,
  props: { orderId: `o-${i + 1}`, amountCents: (i + 1) * 100, currency: i % 2 === 0 ? 'EUR' : 'USD' },
}));
const signup = (id: string, user: string, ms: number, method: string) => ({ id, type: 'signup', occurredAt: at(ms), userId: user, props: { method } });
const view = (id: string, user: string, ms: number) => ({ id, type: 'page-view', occurredAt: at(ms), userId: user, props: { path: '/' } });
const click = (id: string, user: string, ms: number) => ({ id, type: 'click', occurredAt: at(ms), userId: user, props: { target: 'buy' } });
const buy = (id: string, user: string, ms: number) => ({ id, type: 'purchase', occurredAt: at(ms), userId: user, props: { orderId: id, amountCents: 1, currency: 'EUR' } });

beforeAll(async () => {
  t = await setupAnalytics();
  flagsTopic = `flags.events.${t.id}`;
  ({ url } = await t.start({ ACCEPT_PAST_DAYS: '7', EXPORT_FETCH_ROWS: '10', LIVE_POLL_MS: '100', PLATFORM_TOPICS: `${t.topics.shortener},${t.topics.orders},${flagsTopic}` }));
  flags = createProducer({ kafka: createKafka({ brokers: kafkaBrokers(), clientId: `analytics-flags-${t.id}` }), schemas: flagsEventSchemas, source: '/bulwark/flags', registry: new Registry(), log: silent });
  const M = 60_000;
  await post([
    ...purchases,
    signup('s-1', 'u1', HOUR / 2, 'email'), signup('s-2', 'u2', HOUR / 2, 'email'), signup('s-3', 'u3', HOUR / 2, 'email'), signup('s-9', 'u9', HOUR / 2, 'sso'),
    // Funnel (5h … 8h): f1 converts; f2 stops at click; f3 buys after the 1 h window; f4 clicked before viewing.
    view('fv-1', 'f1', 5 * HOUR), click('fc-1', 'f1', 5 * HOUR + 10 * M), buy('fb-1', 'f1', 5 * HOUR + 20 * M),
    view('fv-2', 'f2', 5 * HOUR), click('fc-2', 'f2', 5 * HOUR + 5 * M),
    view('fv-3', 'f3', 5 * HOUR), click('fc-3', 'f3', 5 * HOUR + 30 * M), buy('fb-3', 'f3', 7 * HOUR),
    click('fc-4', 'f4', 5 * HOUR), view('fv-4', 'f4', 5 * HOUR + M),
    // Retention: cohort D (r1, r2, r3) and cohort D+1 (r4); page views as returns.
    signup('rs-1', 'r1', 12 * HOUR, 'retention'), signup('rs-2', 'r2', 12 * HOUR, 'retention'), signup('rs-3', 'r3', 12 * HOUR, 'retention'), signup('rs-4', 'r4', DAY + 12 * HOUR, 'retention'),
    view('rv-1', 'r1', 13 * HOUR), view('rv-2', 'r1', DAY + 13 * HOUR), view('rv-3', 'r2', 2 * DAY + 13 * HOUR), view('rv-4', 'r4', 2 * DAY + HOUR),
  ]);
  await waitFor(async () => (await t.count()) === 10 + 4 + 10 + 4 + 4, 'every event stored');
});

afterAll(async () => {
  await flags?.close();
  await t?.cleanup();
  const admin = await connectAdmin(createKafka({ brokers: kafkaBrokers(), clientId: `analytics-cleanup-flags-${t.id}` }));
  await admin.deleteTopics([flagsTopic]).catch(() => undefined);
  await admin.disconnect();
});

describe('GET /v1/series from the rollups', () => {
  const range = `from=${iso(0)}&to=${iso(3 * HOUR)}`;
  it('when hour buckets cover whole hours, then the rollups answer with the numbers the raw events give', async () => {
    for (const q of ['agg=count', 'agg=sum&field=amountCents', 'agg=avg&field=amountCents', 'agg=min&field=amountCents', 'agg=max&field=amountCents']) {
      const rollup = await get<Series>(`/v1/series?type=purchase&bucket=hour&${q}&${range}`);
      const raw = await get<Series>(`/v1/series?type=purchase&bucket=hour&${q}&${range}&source=raw`);
      expect({ q, source: rollup.source, points: rollup.points }).toEqual({ q, source: 'rollup', points: raw.points });
      expect(raw.source).toBe('raw');
    }
    const sum = await get<Series>(`/v1/series?type=purchase&bucket=day&agg=sum&field=amountCents&${range}`);
    expect(sum).toMatchObject({ source: 'rollup', points: [{ at: at(0), value: 5500, count: 10 }] });
  });

  it('when a late event lands in an old hour and a resend repeats one, then the old bucket gains the late one only', async () => {
    await post([{ id: 'late-1', type: 'purchase', occurredAt: at(2 * HOUR + 59 * 60_000), userId: 'u11', props: { orderId: 'late', amountCents: 7, currency: 'EUR' } }, purchases[0]]);
    await waitFor(async () => (await t.count('purchase')) === 13, 'the late purchase stored');
    await post([purchases[1]]); // another resend, stored nowhere
    await waitFor(async () => (await get<Series>(`/v1/series?type=purchase&bucket=hour&${range}`)).points.length === 2, 'the late hour in the rollup');
    const rollup = await get<Series>(`/v1/series?type=purchase&bucket=hour&agg=sum&field=amountCents&${range}`);
    expect(rollup).toEqual({ type: 'purchase', bucket: 'hour', agg: 'sum', field: 'amountCents', source: 'rollup', points: [{ at: at(HOUR), value: 5500, count: 10 }, { at: at(2 * HOUR), value: 7, count: 1 }] });
    const { rows } = await t.db.query<{ n: string }>("SELECT n FROM event_rollups_hourly WHERE type = 'purchase' AND field = '' AND bucket = $1", [at(HOUR)]);
    expect(rows).toEqual([{ n: '10' }]);
  });
});

describe('GET /v1/series from the raw events', () => {
  const range = `from=${iso(HOUR)}&to=${iso(2 * HOUR)}`;
  it('when percentiles are asked, then they are exact (percentile_cont over the values)', async () => {
    const p50 = await get<Series>(`/v1/series?type=purchase&bucket=hour&agg=p50&field=amountCents&${range}`);
    const p90 = await get<Series>(`/v1/series?type=purchase&bucket=hour&agg=p90&field=amountCents&${range}`);
    expect([p50.source, p50.points]).toEqual(['raw', [{ at: at(HOUR), value: 550, count: 10 }]]);
    expect(p90.points[0]!.value).toBeCloseTo(910, 9);
  });

  it('when filtered by a property and by a segment, then only those events count', async () => {
    const eur = await get<Series>(`/v1/series?type=purchase&bucket=hour&agg=sum&field=amountCents&filter=currency:EUR&${range}`);
    expect(eur.points).toEqual([{ at: at(HOUR), value: 100 + 300 + 500 + 700 + 900, count: 5 }]);
    const both = await get<Series>(`/v1/series?type=purchase&bucket=hour&filter=currency:EUR&filter=orderId:o-3&${range}`);
    expect(both.points).toEqual([{ at: at(HOUR), value: 1, count: 1 }]);
    const segment = await get<Series>(`/v1/series?type=purchase&bucket=hour&agg=sum&field=amountCents&segment=signup&segmentFilter=method:email&from=${iso(0)}&to=${iso(2 * HOUR)}`);
    expect(segment.points).toEqual([{ at: at(HOUR), value: 100 + 200 + 300, count: 3 }]);
    const bad = await call(url, 'GET', `/v1/series?type=purchase&filter=nocolon&${range}`);
    expect(bad.body).toMatchObject({ status: 422, code: 'ANALYTICS_QUERY_INVALID' });
  });
});

describe('GET /v1/funnel and /v1/retention', () => {
  it('when users view, click and buy in order within the window, then each step counts them', async () => {
    const funnel = await get<{ steps: { type: string; users: number; fromPrevious: number }[] }>(`/v1/funnel?steps=page-view,click,purchase&windowSeconds=3600&from=${iso(4 * HOUR)}&to=${iso(8 * HOUR)}`);
    expect(funnel.steps).toEqual([
      { type: 'page-view', users: 4, fromPrevious: 1, fromFirst: 1 },
      { type: 'click', users: 3, fromPrevious: 0.75, fromFirst: 0.75 },
      { type: 'purchase', users: 1, fromPrevious: 1 / 3, fromFirst: 0.25 },
    ]);
    const one = await call(url, 'GET', `/v1/funnel?steps=page-view&from=${iso(0)}&to=${iso(HOUR)}`);
    expect(one.body).toMatchObject({ status: 422, code: 'ANALYTICS_QUERY_INVALID' });
  });

  it('when cohorts sign up on two days, then each period counts the users who came back in it', async () => {
    const retention = await get<{ cohorts: unknown[] }>(`/v1/retention?cohortType=signup&returnType=page-view&filter=method:retention&period=day&periods=3&from=${iso(0)}&to=${iso(2 * DAY)}`);
    expect(retention).toEqual({
      period: 'day',
      cohorts: [
        { start: at(0), size: 3, retained: [1, 1, 1] },
        { start: at(DAY), size: 1, retained: [0, 1, 0] },
      ],
    });
  });
});

describe('GET /v1/export', () => {
  it('when the export spans several FETCHes, then CSV and NDJSON hold every event once, with a header', async () => {
    const csv = await call(url, 'GET', `/v1/export?type=purchase&from=${iso(0)}&to=${iso(2 * HOUR)}&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,type,occurredAt,userId,source,props');
    expect(lines.slice(1).map((l) => l.split(',')[0]).sort()).toEqual(purchases.map((p) => p.id).sort());
    expect(lines[1]).toMatch(/^p-\d+,purchase,.*,"\{""orderId"":""o-\d+"",/);
    const ndjson = await fetch(`${url}/v1/export?from=${iso(0)}&to=${iso(2 * HOUR)}&format=ndjson&filter=currency:USD`, { headers: { 'x-auth-tenant': TEST_TENANT } });
    expect(ndjson.headers.get('content-type')).toBe('application/x-ndjson');
    const rows = (await ndjson.text()).trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string; props: { currency: string } });
    expect(rows.map((r) => r.id).sort()).toEqual(['p-10', 'p-2', 'p-4', 'p-6', 'p-8']);
    expect(rows.every((r) => r.props.currency === 'USD')).toBe(true);
  });
});

type Frame = { id: string; data: { type: string; field: string; count: number } };

/** Reads SSE bucket frames of `type` until `done` holds for the frames so far. */
async function readBuckets(res: Response, type: string, done: (frames: Frame[]) => boolean): Promise<Frame[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const frames: Frame[] = [];
  let buf = '';
  while (!done(frames)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    buf += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const id = /^id: (\d+)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      const bucket = data ? (JSON.parse(data) as Frame['data']) : undefined;
      if (id && bucket?.type === type && /^event: bucket$/m.test(frame)) frames.push({ id, data: bucket });
    }
  }
  await reader.cancel();
  return frames;
}

describe('GET /v1/live', () => {
  it('when events land while a dashboard listens, then their buckets arrive, and a reconnect with Last-Event-ID gets what is newer (and at most repeats of the last totals)', async () => {
    const headers = { 'x-auth-tenant': TEST_TENANT };
    const first = await fetch(`${url}/v1/live`, { headers });
    expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await post([{ id: 'live-1', type: 'custom', occurredAt: at(20 * HOUR), props: { score: 5 } }]);
    const seen = await readBuckets(first, 'custom', (f) => f.length >= 2);
    const [count, score] = [seen.find((x) => x.data.field === ''), seen.find((x) => x.data.field === 'score')];
    expect(count!.data).toMatchObject({ type: 'custom', count: 1, at: at(20 * HOUR) });
    expect(score!.data).toMatchObject({ type: 'custom', field: 'score', count: 1, sum: 5, min: 5, max: 5 });

    const again = await fetch(`${url}/v1/live`, { headers: { ...headers, 'last-event-id': score!.id } });
    await post([{ id: 'live-2', type: 'custom', occurredAt: at(20 * HOUR + 60_000), props: { label: 'x' } }]);
    const resumed = await readBuckets(again, 'custom', (f) => f.some((x) => x.data.field === '' && x.data.count === 2));
    // Within the 5 s overlap a resumed feed may repeat a bucket with totals already sent (a dashboard replaces them), never older ones.
    const known = new Set([JSON.stringify(count!.data), JSON.stringify(score!.data)]);
    expect(resumed.filter((x) => !known.has(JSON.stringify(x.data))).map((x) => x.data)).toEqual([expect.objectContaining({ type: 'custom', field: '', count: 2 })]);
  });
});

describe('GET /v1/live at shutdown', () => {
  it('when the service drains, then an open live feed ends cleanly (no cut connection) and the stop completes', async () => {
    const other = await t.start({ WRITER_ENABLED: 'false', LIVE_POLL_MS: '100' });
    const res = await fetch(`${other.url}/v1/live`, { headers: { 'x-auth-tenant': TEST_TENANT } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const stopping = other.app.service.stop();
    let ended: { done: boolean } | Error;
    do ended = await reader.read().catch((err: unknown) => err as Error);
    while (!(ended instanceof Error) && !ended.done);
    expect(ended).toEqual({ done: true, value: undefined });
    await stopping;
  });
});

describe('flag exposures', () => {
  it("when flags publishes an exposure and a flag change, then the exposure lands under its tenant with the targeting key as user; the change is skipped", async () => {
    const exposure = { tenant: TEST_TENANT, experiment: 'checkout-button', flag: 'new-checkout', variant: 'blue', targetingKey: 'user-42', environment: 'production' };
    await flags.publish(flagsTopic, FLAGS_EVENTS.exposure, exposure, { key: 'checkout-button', time: new Date(at(21 * HOUR)) });
    await flags.publish(flagsTopic, FLAGS_EVENTS['flag-changed'], { tenant: TEST_TENANT, key: 'new-checkout', action: 'update', actorSub: 'a', revision: 2, before: null, after: null }, { key: 'new-checkout' });
    await waitFor(async () => (await t.count('flags.exposure')) === 1, 'the exposure stored');
    const { rows } = await t.db.query<{ tenant_id: string; user_id: string; props: unknown }>("SELECT tenant_id, user_id, props FROM events WHERE type LIKE 'flags.%'");
    expect(rows).toEqual([{ tenant_id: TEST_TENANT, user_id: 'user-42', props: { experiment: 'checkout-button', flag: 'new-checkout', variant: 'blue', targetingKey: 'user-42', environment: 'production' } }]);
  });
});
