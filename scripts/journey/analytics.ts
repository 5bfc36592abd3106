/**
 * The journey's analytics step: the customer's client sends a page view of
 * the order through the gateway (tenant from the token), as the token's
 * user, and the tenant's series counts it once the writer has taken it from
 * Kafka to PostgreSQL; then the funnel page view → order placed of the last
 * hour (orders' events, read from Kafka) counts that user's page view.
 */
import { randomUUID } from 'node:crypto';
import { call as send, waitFor } from '@bulwark/test-support';
import type { PlatformUrls, Step } from '../journey.ts';

export async function sendAPageView(urls: PlatformUrls, customer: string, page: string, step: (s: Step) => void): Promise<void> {
  const auth = { authorization: `Bearer ${customer}` };
  const fail = (s: Step, why: string) => new Error(`journey step "${s.name}" (${s.method} ${s.path}) answered ${s.status}: ${why} ${JSON.stringify(s.body)}`);
  const id = `journey-${randomUUID()}`;
  const now = Date.now();
  const userId = (JSON.parse(Buffer.from(customer.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: string }).sub;
  const sent: Step = { name: 'send a page-view event', method: 'POST', path: '/v1/events', ...(await send(urls.gateway, 'POST', '/v1/events', { id, type: 'page-view', occurredAt: new Date(now).toISOString(), userId, props: { path: page } }, auth)) };
  step(sent);
  if (sent.status !== 202 || (sent.body as { accepted?: number }).accepted !== 1) throw fail(sent, 'the event was not accepted');

  const path = `/v1/series?type=page-view&bucket=hour&agg=count&from=${encodeURIComponent(new Date(now - 3_600_000).toISOString())}&to=${encodeURIComponent(new Date(now + 3_600_000).toISOString())}`;
  let series: Step = { name: 'the page view is in the series', method: 'GET', path, status: 0, body: undefined };
  const total = () => ((series.body as { points?: { value: number }[] } | undefined)?.points ?? []).reduce((n, p) => n + p.value, 0);
  await waitFor(async () => {
    series = { ...series, ...(await send(urls.gateway, 'GET', path, undefined, auth)) };
    return total() >= 1;
  }, 'the page view stored', 15_000, 200).catch(() => undefined); // judged below
  step(series);
  if (series.status !== 200 || total() < 1) throw fail(series, 'the page view is not counted');

  const funnelPath = `/v1/funnel?steps=page-view,orders.order-placed&windowSeconds=3600&from=${encodeURIComponent(new Date(now - 3_600_000).toISOString())}&to=${encodeURIComponent(new Date(now + 60_000).toISOString())}`;
  const funnel: Step = { name: 'the funnel page view → order placed counts the visitor', method: 'GET', path: funnelPath, ...(await send(urls.gateway, 'GET', funnelPath, undefined, auth)) };
  step(funnel);
  const first = (funnel.body as { steps?: { users: number }[] } | undefined)?.steps?.[0]?.users ?? 0;
  if (funnel.status !== 200 || first < 1) throw fail(funnel, 'the page view is not the funnel\'s first step');
}
