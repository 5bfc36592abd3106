/**
 * A published article served through the edge cache and purged when it
 * changes: content's outbox relay publishes the change (with its surrogate
 * keys) to a Kafka topic of this run, the edge in front of content reads it
 * and drops its copy, and the next read through the edge shows the edit.
 * Real PostgreSQL, Kafka and HTTP throughout.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaBrokers, suffix, TEST_TENANT, waitFor } from '@bulwark/test-support';
import { startEdge, type TestEdge } from '../../edge/test/support.ts';
import { AUTHOR, call, setupContent, type TestContent } from './support.ts';

const topic = `content-edge-test-${suffix()}`;
let bed: TestContent;
let url: string;
let edge: TestEdge;

beforeAll(async () => {
  bed = await setupContent({ KAFKA_BROKERS: kafkaBrokers().join(','), CONTENT_TOPIC: topic, OUTBOX_POLL_MS: '50' });
  ({ url } = await bed.start());
  edge = await startEdge(url, { KAFKA_BROKERS: kafkaBrokers().join(','), EDGE_PURGE_TOPICS: topic });
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  await bed?.cleanup();
  const admin = new Kafka({ brokers: kafkaBrokers(), clientId: 'content-edge-test-cleanup', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

it('when a published article is edited, then the edge drops its copy and serves the new revision', async () => {
  const created = await call(url, 'POST', '/v1/articles', { title: 'Edge purge', body: 'First text.' }, AUTHOR);
  const { id, slug } = created.body as { id: string; slug: string };
  await call(url, 'POST', `/v1/articles/${id}/submit`, {}, AUTHOR);
  const path = `/v1/public/${TEST_TENANT}/articles/${slug}`;

  // The create and submit events reach the edge's purge consumer some time after the commit: wait until they have
  // been published, then until the edge keeps a copy (a purge of those events may drop the first one).
  await waitFor(async () => (await bed.db.query<{ n: number }>('SELECT count(*)::int AS n FROM content_events_outbox WHERE published_at IS NULL')).rows[0]!.n === 0, 'outbox drained');
  const first = await edge.get(path);
  expect(first.status).toBe(200);
  expect(first.headers['surrogate-key']).toBeUndefined();
  await waitFor(async () => (await edge.get(path)).headers['x-cache'] === 'HIT', 'the article kept at the edge');

  const edited = await call(url, 'PUT', `/v1/articles/${id}`, { revision: 1, title: 'Edge purge', body: 'Second text.' }, AUTHOR);
  expect(edited.body.status).toBe('published');
  await waitFor(async () => JSON.parse((await edge.get(path)).body.toString()).body === 'Second text.', 'the edited article through the edge');
});
