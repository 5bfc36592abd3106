/**
 * The journey's short-link step: the new customer shortens the order's page
 * through the gateway, follows the short link (the public /r/ route, no
 * token: a 302 to the target), and sees the click counted on its link.
 */
import { call as send, waitFor } from '@bulwark/test-support';
import type { PlatformUrls, Step } from '../journey.ts';

export async function shortenAndFollow(urls: PlatformUrls, customer: string, target: string, step: (s: Step) => void): Promise<void> {
  const auth = { authorization: `Bearer ${customer}` };
  const fail = (s: Step, why: string) => new Error(`journey step "${s.name}" (${s.method} ${s.path}) answered ${s.status}: ${why} ${JSON.stringify(s.body)}`);

  const created: Step = { name: 'shorten a link to the order', method: 'POST', path: '/v1/links', ...(await send(urls.gateway, 'POST', '/v1/links', { url: target }, auth)) };
  step(created);
  const link = created.body as { code?: string; shortUrl?: string };
  if (created.status !== 201 || !link.code || !link.shortUrl) throw fail(created, 'no link');

  const res = await fetch(`${urls.gateway}/r/${link.code}`, { redirect: 'manual', headers: { referer: 'https://mail.example/inbox/1' } });
  await res.body?.cancel();
  const followed: Step = { name: 'follow the short link (public, no token)', method: 'GET', path: `/r/${link.code}`, status: res.status, body: { location: res.headers.get('location') } };
  step(followed);
  if (res.status !== 302 || res.headers.get('location') !== target) throw fail(followed, `not a 302 to ${target}`);

  const statsPath = `/v1/links/${link.code}`;
  let stats: Step = { name: 'the click is counted on the link', method: 'GET', path: statsPath, status: 0, body: undefined };
  await waitFor(async () => {
    stats = { ...stats, ...(await send(urls.gateway, 'GET', statsPath, undefined, auth)) };
    return (stats.body as { clicks?: number } | undefined)?.clicks === 1;
  }, 'the click counted', 15_000, 200).catch(() => undefined); // judged below
  step(stats);
  const counted = stats.body as { clicks?: number; referrers?: { referrer: string }[] } | undefined;
  if (stats.status !== 200 || counted?.clicks !== 1 || counted.referrers?.[0]?.referrer !== 'https://mail.example') throw fail(stats, 'the click is not counted with its referrer');
}
