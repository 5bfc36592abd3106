/**
 * The journey's secrets step: the demo admin stores a secret through the
 * gateway, reads it back (decrypted), a customer is refused (admin role),
 * and the admin's read shows up in the audit log (secrets' outbox → Kafka
 * → audit), without the value.
 */
import { randomUUID } from 'node:crypto';
import { call as send, waitFor } from '@bulwark/test-support';
import type { PlatformUrls, Step } from '../journey.ts';

const READ = 'com.bulwark.secrets.secret-read';

export async function storeAndReadASecret(urls: PlatformUrls, session: { customer: string; admin: string }, step: (s: Step) => void): Promise<void> {
  const admin = { authorization: `Bearer ${session.admin}` };
  const sub = (JSON.parse(Buffer.from(session.admin.split('.')[1] ?? '', 'base64url').toString()) as { sub: string }).sub;
  const name = `journey-${randomUUID().slice(0, 8)}`;
  const value = `key-${randomUUID()}`;
  const run = async (s: Omit<Step, 'status' | 'body'>, body: unknown, headers: Record<string, string>, ok: number[]): Promise<Step> => {
    const done: Step = { ...s, ...(await send(urls.gateway, s.method, s.path, body, headers)) };
    step(done);
    if (!ok.includes(done.status)) throw new Error(`journey step "${done.name}" (${done.method} ${done.path}) answered ${done.status}, expected ${ok.join(' or ')}: ${JSON.stringify(done.body)}`);
    return done;
  };
  await run({ name: 'the admin stores a secret', method: 'PUT', path: `/v1/secrets/${name}` }, { value }, admin, [201]);
  const read = await run({ name: 'the admin reads it back', method: 'GET', path: `/v1/secrets/${name}` }, undefined, admin, [200]);
  if ((read.body as { value?: string }).value !== value) throw new Error(`secret ${name} read back as something else`);
  await run({ name: 'a customer may not read secrets', method: 'GET', path: `/v1/secrets/${name}` }, undefined, { authorization: `Bearer ${session.customer}` }, [403]);
  const path = `/v1/audit/entries?type=${encodeURIComponent(READ)}&actor=${encodeURIComponent(sub)}`;
  let audited: Step = { name: "the admin's read is in the audit log", method: 'GET', path, status: 0, body: undefined };
  await waitFor(async () => {
    audited = { ...audited, ...(await send(urls.gateway, 'GET', path, undefined, admin)) };
    return audited.status === 200 && ((audited.body as { entries?: { body: string | null }[] }).entries ?? []).some((e) => e.body?.includes(name));
  }, 'the secret read in the audit log', 60_000, 250).catch(() => undefined);
  step(audited);
  const entries = (audited.body as { entries?: { body: string | null }[] } | undefined)?.entries ?? [];
  if (!entries.some((e) => e.body?.includes(name)) || entries.some((e) => e.body?.includes(value))) throw new Error(`journey step "${audited.name}": no audit entry for ${name}, or one carrying the value: ${JSON.stringify(audited.body)}`);
}
