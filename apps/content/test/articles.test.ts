/**
 * The content service against real PostgreSQL: drafts, revisions, submit
 * (published, scheduled, or queued by a rule), moderation with a reason the
 * author sees, scheduled publication, public reads with the edge's caching
 * headers, full-text search over published articles, tenants kept apart,
 * and an event (with surrogate keys) in the outbox for each change.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OTHER_TENANT, PROBLEM, TEST_TENANT } from '@bulwark/test-support';
import { AUTHOR, call, MODERATOR, OTHER_AUTHOR, setupContent, type TestContent } from './support.ts';

let bed: TestContent;
let url: string;

beforeAll(async () => {
  bed = await setupContent();
  ({ url } = await bed.start());
}, 60_000);

afterAll(async () => {
  await bed?.cleanup();
});

async function draft(over: Record<string, unknown> = {}) {
  const res = await call(url, 'POST', '/v1/articles', { title: 'Caching at the edge', body: 'Surrogate keys make purges cheap.', tags: ['cdn', 'http'], ...over }, AUTHOR);
  expect(res.status).toBe(201);
  return res.body as { id: string; slug: string; revision: number; status: string };
}

async function events(articleId: string): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const { rows } = await bed.db.query<{ type: string; data: Record<string, unknown> }>('SELECT type, data FROM content_events_outbox WHERE aggregate_id = $1 ORDER BY id', [articleId]);
  return rows;
}

describe('writing and publishing', () => {
  it('when an author submits a clean draft, then it is published and readable publicly with the edge caching headers', async () => {
    const a = await draft();
    expect(a.status).toBe('draft');
    const submitted = await call(url, 'POST', `/v1/articles/${a.id}/submit`, {}, AUTHOR);
    expect(submitted.body).toMatchObject({ status: 'published', moderation: { flags: [] } });
    const pub = await call(url, 'GET', `/v1/public/${TEST_TENANT}/articles/${a.slug}`, undefined, { 'x-auth-tenant': '' });
    expect(pub.status).toBe(200);
    expect(pub.headers.get('cache-control')).toBe('public, max-age=0, s-maxage=60, stale-while-revalidate=300, stale-if-error=300');
    expect(pub.headers.get('surrogate-key')).toBe(`article:${a.id} articles:${TEST_TENANT}`);
    expect(pub.headers.get('etag')).toBe(`"${a.id}.1"`);
    const evs = await events(a.id);
    expect(evs.map((e) => [e.type, e.data.status])).toEqual([['article-changed', 'draft'], ['article-changed', 'published']]);
    expect(evs[1]!.data).toMatchObject({ tenantId: TEST_TENANT, surrogateKeys: [`article:${a.id}`, `articles:${TEST_TENANT}`] });
  });

  it('when another tenant asks for the slug, then it is not found (row-level security)', async () => {
    const a = await draft();
    await call(url, 'POST', `/v1/articles/${a.id}/submit`, {}, AUTHOR);
    const other = await call(url, 'GET', `/v1/public/${OTHER_TENANT}/articles/${a.slug}`, undefined, { 'x-auth-tenant': '' });
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toContain(PROBLEM);
    expect(other.body.code).toBe('CONTENT_ARTICLE_NOT_FOUND');
  });

  it('when a draft is still a draft, then the public cannot read it', async () => {
    const a = await draft();
    expect((await call(url, 'GET', `/v1/public/${TEST_TENANT}/articles/${a.slug}`, undefined, { 'x-auth-tenant': '' })).status).toBe(404);
  });

  it('when the author edits, then each save is a revision; an edit from an old revision is 409; another user is refused', async () => {
    const a = await draft();
    const v2 = await call(url, 'PUT', `/v1/articles/${a.id}`, { revision: 1, title: 'Caching at the edge, again', body: 'More.', tags: ['cdn'] }, AUTHOR);
    expect(v2.body).toMatchObject({ revision: 2, title: 'Caching at the edge, again' });
    const stale = await call(url, 'PUT', `/v1/articles/${a.id}`, { revision: 1, title: 'Lost update', body: '' }, AUTHOR);
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'CONTENT_REVISION_CONFLICT', current: 2 });
    expect((await call(url, 'PUT', `/v1/articles/${a.id}`, { revision: 2, title: 'Not mine', body: '' }, OTHER_AUTHOR)).status).toBe(403);
    const read = await call(url, 'GET', `/v1/articles/${a.id}`, undefined, AUTHOR);
    expect(read.body.revisions.map((r: { revision: number }) => r.revision)).toEqual([2, 1]);
  });

  it('when a draft is scheduled, then it is published once its time has passed', async () => {
    const a = await draft();
    const at = new Date(Date.now() + 3_600_000).toISOString();
    expect((await call(url, 'POST', `/v1/articles/${a.id}/submit`, { publishAt: at }, AUTHOR)).body).toMatchObject({ status: 'scheduled' });
    expect((await call(url, 'GET', `/v1/public/${TEST_TENANT}/articles/${a.slug}`, undefined, { 'x-auth-tenant': '' })).status).toBe(404);
    await bed.db.query("UPDATE articles SET publish_at = now() - interval '1 second' WHERE id = $1", [a.id]);
    const app = (await bed.start()).app;
    expect(await app.publishDue()).toBeGreaterThanOrEqual(1);
    expect((await call(url, 'GET', `/v1/public/${TEST_TENANT}/articles/${a.slug}`, undefined, { 'x-auth-tenant': '' })).status).toBe(200);
    expect((await events(a.id)).at(-1)!.data).toMatchObject({ status: 'published', tenantId: TEST_TENANT, surrogateKeys: [`article:${a.id}`, `articles:${TEST_TENANT}`] });
  });

  it('when publishAt is in the past or the input is malformed, then 4xx problem+json', async () => {
    const a = await draft();
    const past = await call(url, 'POST', `/v1/articles/${a.id}/submit`, { publishAt: '2000-01-01T00:00:00Z' }, AUTHOR);
    expect(past.status).toBe(422);
    expect(past.body.code).toBe('CONTENT_PUBLISH_AT_IN_PAST');
    const bad = await call(url, 'POST', '/v1/articles', { title: '' }, AUTHOR);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain(PROBLEM);
    expect((await call(url, 'POST', '/v1/articles', { title: 'x' })).status).toBe(403);
  });
});

describe('moderation', () => {
  it('when a rule flags a submission, then it waits in the queue; a rejection tells the author why', async () => {
    const a = await draft({ title: 'Win big', body: 'Our casino pays out.' });
    const submitted = await call(url, 'POST', `/v1/articles/${a.id}/submit`, {}, AUTHOR);
    expect(submitted.body).toMatchObject({ status: 'in_review', moderation: { flags: ['blocked-word:casino'] } });
    expect((await call(url, 'GET', '/v1/moderation/queue', undefined, AUTHOR)).status).toBe(403);
    const queue = await call(url, 'GET', '/v1/moderation/queue', undefined, MODERATOR);
    expect(queue.body.items.map((i: { id: string }) => i.id)).toContain(a.id);
    expect((await call(url, 'POST', `/v1/moderation/${a.id}/decision`, { action: 'reject' }, MODERATOR)).status).toBe(400);
    const rejected = await call(url, 'POST', `/v1/moderation/${a.id}/decision`, { action: 'reject', reason: 'Gambling ads are not allowed.' }, MODERATOR);
    expect(rejected.body).toMatchObject({ status: 'rejected', moderation: { reason: 'Gambling ads are not allowed.', moderatedBy: 'mod-1' } });
    expect((await call(url, 'GET', `/v1/articles/${a.id}`, undefined, AUTHOR)).body.moderation.reason).toBe('Gambling ads are not allowed.');
    expect((await events(a.id)).at(-1)).toMatchObject({ type: 'article-rejected', data: { authorSub: 'author-1', reason: 'Gambling ads are not allowed.' } });
  });

  it('when a moderator approves, then the article is published', async () => {
    const a = await draft({ title: 'LOUD TITLE FOR EVERYONE' });
    await call(url, 'POST', `/v1/articles/${a.id}/submit`, {}, AUTHOR);
    const approved = await call(url, 'POST', `/v1/moderation/${a.id}/decision`, { action: 'approve' }, MODERATOR);
    expect(approved.body.status).toBe('published');
  });
});

describe('search over published articles', () => {
  it('when searching, then published matches come ranked by title over body, drafts never', async () => {
    const word = `zebra${Date.now().toString(36)}`;
    const inTitle = await draft({ title: `All about ${word}`, body: 'Stripes.' });
    const inBody = await draft({ title: 'Animals', body: `Mentions ${word} once.` });
    await draft({ title: `Draft ${word}` });
    for (const a of [inTitle, inBody]) await call(url, 'POST', `/v1/articles/${a.id}/submit`, {}, AUTHOR);
    const res = await call(url, 'GET', `/v1/public/${TEST_TENANT}/articles?q=${word}`, undefined, { 'x-auth-tenant': '' });
    expect(res.body.items.map((i: { id: string }) => i.id)).toEqual([inTitle.id, inBody.id]);
    expect(res.headers.get('surrogate-key')).toBe(`articles:${TEST_TENANT}`);
  });
});
