/**
 * Purges from Kafka: an event carrying `data.surrogateKeys` on a purge topic
 * drops the tagged objects of a running edge (real Kafka, a topic per run).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { createKafka, ensureTopics, toKafkaRecord } from '@bulwark/events';
import { kafkaBrokers, suffix, waitFor } from '@bulwark/test-support';
import { startEdge, startOrigin, type Origin, type TestEdge } from './support.ts';

const topic = `edge-purge-test-${suffix()}`;
let origin: Origin;
let edge: TestEdge;

beforeAll(async () => {
  await ensureTopics(createKafka({ brokers: kafkaBrokers(), clientId: 'edge-test' }), [{ name: topic, partitions: 1, retentionMs: 3_600_000 }]);
  origin = await startOrigin();
  edge = await startEdge(origin.url, { KAFKA_BROKERS: kafkaBrokers().join(','), EDGE_PURGE_TOPICS: topic });
});

afterAll(async () => {
  await edge?.stop();
  await origin?.close();
  const admin = new Kafka({ brokers: kafkaBrokers(), clientId: 'edge-test-cleanup', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

it('when an event names a surrogate key, then the objects tagged with it are fetched anew', async () => {
  let version = 0;
  origin.route('/article', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600', 'surrogate-key': 'article:42' });
    res.end(`v${++version}`);
  });
  expect((await edge.get('/article')).body.toString()).toBe('v1');
  expect((await edge.get('/article')).headers['x-cache']).toBe('HIT');

  const producer = new Kafka({ brokers: kafkaBrokers(), clientId: 'edge-test-producer', logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  const record = toKafkaRecord({ specversion: '1.0', id: randomUUID(), source: '/bulwark/content', type: 'content.article.changed', subject: '42', time: new Date().toISOString(), datacontenttype: 'application/json', dataschema: undefined, dataversion: 1, traceparent: undefined, tracestate: undefined, data: { articleId: '42', surrogateKeys: ['article:42'] } });
  await producer.send({ topic, messages: [{ key: record.key, value: record.value, headers: record.headers }] });
  await producer.disconnect();

  await waitFor(async () => (await edge.get('/article')).body.toString() === 'v2', 'the purged article fetched anew');
  expect(origin.count('/article')).toBe(2);
});
