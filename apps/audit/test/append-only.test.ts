/**
 * The log is append-only for the service's own database role (grants) and
 * for every role (triggers), and an event is recorded once however often it
 * arrives.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sqlStateOf, withSystemContext, withTransaction } from '@bulwark/db';
import { appendEvents } from '../src/domain/append.ts';
import { sampleEvent, setupAudit, type TestAudit } from './support.ts';

let audit: TestAudit;

beforeAll(async () => {
  audit = await setupAudit();
  await audit.appendSample(3);
});

afterAll(async () => {
  await audit.cleanup();
});

const asRuntime = <T>(sql: string) => withSystemContext(audit.app.pool, 'audit.test', () => audit.app.pool.query<T & object>(sql));
const failure = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => ({ sqlstate: sqlStateOf(err), message: (err as Error).message }));

describe('audit log append-only', () => {
  it.each([
    ['UPDATE', "UPDATE entries SET actor = 'x' WHERE seq = 1"],
    ['DELETE', 'DELETE FROM entries WHERE seq = 1'],
    ['TRUNCATE', 'TRUNCATE entries'],
    ['UPDATE of a tree head', "UPDATE tree_heads SET key_id = 'x'"],
    ['DELETE of a tree head', 'DELETE FROM tree_heads'],
    ['DELETE of an export record', 'DELETE FROM exports'],
  ])('when the service role tries %s, then PostgreSQL refuses it (permission denied)', async (_what, sql) => {
    expect(await failure(asRuntime(sql))).toMatchObject({ sqlstate: '42501', message: expect.stringMatching(/permission denied/) });
  });

  it.each([
    ['UPDATE', "UPDATE entries SET actor = 'x' WHERE seq = 1"],
    ['DELETE', 'DELETE FROM entries WHERE seq = 1'],
    ['TRUNCATE', 'TRUNCATE entries'],
  ])('when the owner tries %s, then the trigger refuses it', async (_what, sql) => {
    expect(await failure(audit.superuser.query(sql))).toMatchObject({ sqlstate: '42501', message: expect.stringMatching(/append-only/) });
    const { rows } = await audit.superuser.query<{ n: string }>('SELECT count(*) AS n FROM entries');
    expect(Number(rows[0]!.n)).toBe(3);
  });

  it('when the same event arrives twice (also twice in one batch), then it is recorded once', async () => {
    const event = sampleEvent(100);
    const append = (events: typeof event[]) => withSystemContext(audit.app.pool, 'audit.test', () => withTransaction(audit.app.pool, (tx) => appendEvents(tx, audit.app.signer, events)));
    const first = await append([event, event]);
    const again = await append([event]);
    expect(first).toHaveLength(1);
    expect(again).toHaveLength(0);
    const { rows } = await audit.superuser.query<{ n: string }>('SELECT count(*) AS n FROM entries WHERE event_id = $1', [event.eventId]);
    expect(Number(rows[0]!.n)).toBe(1);
  });
});
