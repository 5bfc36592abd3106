/**
 * The journey's content step: the new customer writes an article and
 * publishes it (through the gateway), a reader fetches it through the edge
 * cache twice (the second answer from the edge's store), the author edits
 * it, and the edge serves the edit once content's event has purged the old
 * copy (Kafka `content.events` → the edge's purge consumer).
 */
import { call as send, waitFor } from '@bulwark/test-support';
import type { PlatformUrls, Step } from '../journey.ts';

/** The edge of this platform: named, or the gateway's host on the gateway's port + 18 (8080 → 8098, any port offset). */
function edgeUrl(urls: PlatformUrls & { edge?: string }): string {
  if (urls.edge) return urls.edge;
  const u = new URL(urls.gateway);
  u.port = String(Number(u.port || 80) + 18);
  return u.origin;
}

export async function publishAndServeAnArticle(urls: PlatformUrls & { edge?: string }, customer: string, step: (s: Step) => void): Promise<void> {
  const auth = { authorization: `Bearer ${customer}` };
  const fail = (s: Step, why: string) => new Error(`journey step "${s.name}" (${s.method} ${s.path}) answered ${s.status}: ${why} ${JSON.stringify(s.body)}`);
  const tenant = (JSON.parse(Buffer.from(customer.split('.')[1] ?? '', 'base64url').toString()) as { tenant: string }).tenant;
  const edge = edgeUrl(urls);

  const created: Step = { name: 'write an article (draft)', method: 'POST', path: '/v1/articles', ...(await send(urls.gateway, 'POST', '/v1/articles', { title: 'How my moka pot arrived', body: 'Well packed, on time.', tags: ['review'] }, auth)) };
  step(created);
  const article = created.body as { id?: string; slug?: string };
  if (created.status !== 201 || !article.id || !article.slug) throw fail(created, 'no draft');

  const submitted: Step = { name: 'publish the article', method: 'POST', path: `/v1/articles/${article.id}/submit`, ...(await send(urls.gateway, 'POST', `/v1/articles/${article.id}/submit`, {}, auth)) };
  step(submitted);
  if (submitted.status !== 200 || (submitted.body as { status?: string }).status !== 'published') throw fail(submitted, 'not published');

  const path = `/v1/public/${tenant}/articles/${article.slug}`;
  let cached: Step = { name: 'a reader gets the article from the edge cache (second read a HIT)', method: 'GET', path, status: 0, body: undefined };
  // The draft's and the publication's events purge the first copies as they arrive: read until a copy stays.
  await waitFor(async () => {
    const res = await fetch(`${edge}${path}`);
    cached = { ...cached, status: res.status, body: { xCache: res.headers.get('x-cache'), article: await res.json().catch(() => undefined) } };
    return res.headers.get('x-cache') === 'HIT';
  }, 'an edge HIT', 30_000, 200).catch(() => undefined); // judged below
  step(cached);
  if ((cached.body as { xCache?: string }).xCache !== 'HIT') throw fail(cached, 'the edge did not keep the article');

  const edited: Step = { name: 'edit the published article', method: 'PUT', path: `/v1/articles/${article.id}`, ...(await send(urls.gateway, 'PUT', `/v1/articles/${article.id}`, { revision: 1, title: 'How my moka pot arrived', body: 'Well packed, on time. Coffee is great.', tags: ['review'] }, auth)) };
  step(edited);
  if (edited.status !== 200) throw fail(edited, 'not saved');

  let fresh: Step = { name: 'the edge serves the edit after the purge event', method: 'GET', path, status: 0, body: undefined };
  await waitFor(async () => {
    const res = await fetch(`${edge}${path}`);
    const body = (await res.json().catch(() => undefined)) as { body?: string } | undefined;
    fresh = { ...fresh, status: res.status, body };
    return body?.body === 'Well packed, on time. Coffee is great.';
  }, 'the edited article at the edge', 30_000, 200).catch(() => undefined); // judged below
  step(fresh);
  if ((fresh.body as { body?: string } | undefined)?.body !== 'Well packed, on time. Coffee is great.') throw fail(fresh, 'the edge still serves the old text');
}
