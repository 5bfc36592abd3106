/**
 * The journey's flag-gated step: the demo admin turns a flag on for the new
 * customer alone (a rule on the targeting key; everyone else gets off)
 * through the gateway; the customer's evaluation over OFREP says on, so the
 * gated feature (search suggestions) is used; the admin's kill switch turns
 * it off for everyone at once, and the gated step is skipped.
 */
import { call as send } from '@bulwark/test-support';
import type { PlatformUrls, Step } from '../journey.ts';

const FLAG = 'journey-suggestions';

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
    description: 'Search suggestions, on for the journey customer only',
    variants: { on: true, off: false },
    environments: { production: { enabled: true, offVariant: 'off', rules: [{ id: 'journey-customer', clauses: [{ attribute: 'targetingKey', op: 'in', values: [sub] }], serve: { variant: 'on' } }], fallthrough: { variant: 'off' } } },
  };
  await run('the admin turns a flag on for the customer alone', 'PUT', `/v1/flags/${FLAG}`, [200, 201], session.admin, flag);
  const evaluate = (name: string) => run(name, 'POST', `/ofrep/v1/evaluate/flags/${FLAG}`, [200], session.customer, { context: { targetingKey: sub } });
  const on = await evaluate('the customer evaluates the flag (OFREP)');
  if ((on.body as { value?: unknown }).value !== true) throw new Error(`flag ${FLAG} is not on for the journey customer: ${JSON.stringify(on.body)}`);
  await run('the flag-gated step: search suggestions', 'GET', '/v1/products/suggest?q=cof', [200], session.customer);
  await run('the admin flips the kill switch', 'PUT', `/v1/flags/${FLAG}/kill`, [200], session.admin, { killed: true, reason: 'journey' });
  const off = await evaluate('the customer evaluates the flag again');
  if ((off.body as { value?: unknown; reason?: unknown }).value !== false || (off.body as { reason?: unknown }).reason !== 'DISABLED') throw new Error(`the kill switch did not turn ${FLAG} off: ${JSON.stringify(off.body)}`);
  step({ name: 'the gated step is skipped while the flag is off', method: 'GET', path: '/v1/products/suggest', status: 204, body: { flag: FLAG, value: false } });
}
