/**
 * The journey's flag-gated step: the demo admin turns the shortener's link
 * creation flag on for the new customer alone (a rule on the targeting key;
 * everyone else gets the flag's default) through the gateway; the customer's
 * evaluation over OFREP says on and the gated feature (shortening a link)
 * works. The admin's kill switch turns it off for everyone at once: OFREP
 * says DISABLED and the shortener, which reads the same flag through the
 * OpenFeature provider, refuses new links (503 SHORTENER_CREATION_PAUSED).
 * The switch is released at the end so the demo tenant keeps working.
 */
import { call as send, waitFor } from '@bulwark/test-support';
import type { PlatformUrls, Step } from '../journey.ts';

/** The shortener's kill switch of link creation (apps/shortener CREATION_FLAG). */
const FLAG = 'shortener-link-creation';

export async function flagGatedStep(urls: PlatformUrls, session: { customer: string; admin: string }, step: (s: Step) => void): Promise<void> {
  const sub = (JSON.parse(Buffer.from(session.customer.split('.')[1] ?? '', 'base64url').toString()) as { sub: string }).sub;
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const run = async (name: string, method: string, path: string, ok: number[], token: string, body?: unknown): Promise<Step> => {
    const s: Step = { name, method, path, ...(await send(urls.gateway, method, path, body, as(token))) };
    step(s);
    if (!ok.includes(s.status)) throw new Error(`journey step "${name}" (${method} ${path}) answered ${s.status}, expected ${ok.join(' or ')}: ${JSON.stringify(s.body)}`);
    return s;
  };
  const flag = {
    type: 'boolean',
    description: 'Link creation in the shortener: on for the journey customer (a kill switch for everyone)',
    variants: { on: true, off: false },
    environments: { production: { enabled: true, offVariant: 'off', rules: [{ id: 'journey-customer', clauses: [{ attribute: 'targetingKey', op: 'in', values: [sub] }], serve: { variant: 'on' } }], fallthrough: { variant: 'on' } } },
  };
  await run('the admin turns a flag on for the customer', 'PUT', `/v1/flags/${FLAG}`, [200, 201], session.admin, flag);
  const evaluate = (name: string) => run(name, 'POST', `/ofrep/v1/evaluate/flags/${FLAG}`, [200], session.customer, { context: { targetingKey: sub } });
  const on = await evaluate('the customer evaluates the flag (OFREP)');
  if ((on.body as { value?: unknown }).value !== true) throw new Error(`flag ${FLAG} is not on for the journey customer: ${JSON.stringify(on.body)}`);
  const shorten = (name: string) => send(urls.gateway, 'POST', '/v1/links', { url: 'https://example.com/flag-gated' }, as(session.customer)).then((r): Step => ({ name, method: 'POST', path: '/v1/links', ...r }));
  step(await expectStatus(() => shorten('the flag-gated step: shorten a link'), 201));
  await run('the admin flips the kill switch', 'PUT', `/v1/flags/${FLAG}/kill`, [200], session.admin, { killed: true, reason: 'journey' });
  try {
    const off = await evaluate('the customer evaluates the flag again');
    if ((off.body as { value?: unknown; reason?: unknown }).value !== false || (off.body as { reason?: unknown }).reason !== 'DISABLED') throw new Error(`the kill switch did not turn ${FLAG} off: ${JSON.stringify(off.body)}`);
    const paused = await expectStatus(() => shorten('the gated step is refused while the flag is off'), 503);
    step(paused);
    if ((paused.body as { code?: unknown }).code !== 'SHORTENER_CREATION_PAUSED') throw new Error(`the shortener refused for another reason: ${JSON.stringify(paused.body)}`);
  } finally {
    await run('the admin releases the kill switch', 'PUT', `/v1/flags/${FLAG}/kill`, [200], session.admin, { killed: false });
  }
  step(await expectStatus(() => shorten('the gated step works again'), 201));
}

/** The shortener sees a flag change through its stream, within seconds: ask until it answers `status` (then that answer is the step). */
async function expectStatus(attempt: () => Promise<Step>, status: number): Promise<Step> {
  let last: Step | undefined;
  await waitFor(async () => (last = await attempt()).status === status, `${status} from POST /v1/links`, 20_000, 200).catch(() => undefined);
  if (last?.status !== status) throw new Error(`journey step "${last?.name}" answered ${last?.status}, expected ${status}: ${JSON.stringify(last?.body)}`);
  return last;
}
