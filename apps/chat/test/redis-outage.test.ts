/**
 * Redis away: two instances on a private redis-server that is killed and
 * started again on the same port. A message posted meanwhile commits and is
 * acked (its publish is lost); when the instances' subscribers come back
 * they re-read their rooms from PostgreSQL, so the client on the other
 * instance gets it, once and in order.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisProcess } from '@bulwark/test-support';
import { as, ChatClient, setupChat, waitFor, type TestChat } from './support.ts';

let t: TestChat;
let redis: RedisProcess;

beforeAll(async () => {
  t = await setupChat();
  redis = await RedisProcess.start();
});
afterAll(async () => {
  await t.cleanup();
  await redis.stop();
});

describe('Redis outage', () => {
  it('when Redis dies and returns, then a message posted while it was away reaches the other instance from PostgreSQL, once and in order', async () => {
    const env = { REDIS_URL: redis.url };
    const [{ url: one }, { url: two }] = [await t.start(env), await t.start(env)];
    const room = (await as('alice')(one, 'POST', '/v1/rooms', { name: 'outage', kind: 'private', members: ['bob'] })).body.room.id as string;
    const alice = await ChatClient.connect(one, await t.token('alice'));
    const bob = await ChatClient.connect(two, await t.token('bob'));
    for (const c of [alice, bob]) await c.request({ type: 'subscribe', room, since: 0 });
    expect(await alice.request({ type: 'send', room, clientId: 'before', body: 'before' })).toMatchObject({ type: 'ack', seq: 1 });
    await waitFor(() => bob.seqs(room).length === 1, 'the first message live');

    const port = redis.port;
    await redis.stop();
    expect(await alice.request({ type: 'send', room, clientId: 'during', body: 'during' })).toMatchObject({ type: 'ack', seq: 2 });
    expect(bob.seqs(room)).toEqual([1]);
    redis = await RedisProcess.start(port);

    await waitFor(() => bob.seqs(room).length === 2, 'the message posted during the outage, from PostgreSQL');
    expect(await alice.request({ type: 'send', room, clientId: 'after', body: 'after' })).toMatchObject({ type: 'ack', seq: 3 });
    await waitFor(() => bob.seqs(room).length === 3 && alice.seqs(room).length === 3, 'the next message live on both');
    expect(bob.seqs(room)).toEqual([1, 2, 3]);
    expect(alice.seqs(room)).toEqual([1, 2, 3]);
    alice.close();
    bob.close();
  });
});
