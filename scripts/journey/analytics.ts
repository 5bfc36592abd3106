/**
 * The journey's analytics step: the customer's client sends a page view of
 * the order through the gateway (tenant from the token), and the tenant's
 * series counts it once the writer has taken it from Kafka to PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { call as send, waitFor } from '@bulwark/test-support';
import type { PlatformUrls, Step } from '../journey.ts';

export async function sendAPageView(urls: PlatformUrls, customer: string, page: string, step: (s: Step) => void): Promise<void> {
  const auth = { authorization: `Bearer ${customer}` };
  const fail = (s: Step, why: string) => new Error(`journey step "${s.name}" (${s.method} ${s.path}) answered ${s.status}: ${why} ${JSON.stringify(s.body)}`);
  const id = `journey-${randomUUID()}`;
  const now = Date.now();
  const sent: Step = { name: 'send a page-view event', method: 'POST', path: '/v1/events', ...(await send(urls.gateway, 'POST', '/v1/events', { id, type: 'page-view', occurredAt: new Date(now).toISOString(), props: { path: page } }, auth)) };
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
}
