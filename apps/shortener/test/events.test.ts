/**
 * Link and click events reach Kafka through the outbox (real broker): one
 * link-created per link and one link-clicked per click, keyed by the code,
 * as CloudEvents that analytics reads.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaBrokers, readTopic, suffix, TEST_TENANT } from '@bulwark/test-support';
import { call, follow, setupShortener, USER, type TestShortener } from './support.ts';

let s: TestShortener;
let url: string;
const topic = `test.${suffix()}.shortener`;

beforeAll(async () => {
  s = await setupShortener();
  ({ url } = await s.start({ KAFKA_BROKERS: kafkaBrokers().join(','), SHORTENER_TOPIC: topic, OUTBOX_POLL_MS: '20' }));
}, 60_000);

afterAll(async () => {
  await s?.cleanup();
  const admin = new Kafka({ brokers: kafkaBrokers(), clientId: 'shortener-test-cleanup', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

describe('shortener events', () => {
  it('when a link is created and clicked twice, then link-created and two link-clicked events reach the topic, keyed by the code, with the referrer origin only and the link’s tenant', async () => {
    const { code } = (await call(url, 'POST', '/v1/links', { url: 'https://example.com/evented' }, USER)).body as { code: string };
    await follow(url, code, { referer: 'https://blog.example/post/7?utm=x' });
    await follow(url, code);
    const records = await readTopic<{ tenantId: string; code: string; referrer?: string; ownerSub?: string }>(topic, 3);
    // The link's tenant rides in every event (analytics files clicks under it).
    expect(records.map((r) => r.data.tenantId)).toEqual([TEST_TENANT, TEST_TENANT, TEST_TENANT]);
    expect(records.map((r) => r.key)).toEqual([code, code, code]);
    expect(records.map((r) => r.type)).toEqual(['com.bulwark.shortener.link-created', 'com.bulwark.shortener.link-clicked', 'com.bulwark.shortener.link-clicked']);
    expect(records[0]!.data).toMatchObject({ code, ownerSub: USER['x-auth-sub'], redirectStatus: 302, customAlias: false });
    expect(records.slice(1).map((r) => r.data.referrer).sort()).toEqual(['', 'https://blog.example']);
  });
});
