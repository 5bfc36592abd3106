/**
 * The shortener reads a feature flag: link creation has a kill switch per
 * tenant (`shortener-link-creation`) in the real apps/flags, read through the
 * OpenFeature provider from a streamed snapshot. Absent flag: allowed. Off:
 * 503 problem+json for that tenant only, redirects unaffected. A targeting
 * rule lets one user through. Flags stopped: the last snapshot still rules.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OTHER_TENANT, PROBLEM, waitFor } from '@bulwark/test-support';
import type { FlagsApp } from '../../flags/src/app.ts';
import { ADMIN, call as flagsCall, setupFlags, type TestFlags } from '../../flags/test/support.ts';
import { CREATION_FLAG } from '../src/http/routes.ts';
import { call, follow, OTHER_USER, setupShortener, USER, type TestShortener } from './support.ts';

let flags: TestFlags;
let flagsApp: FlagsApp;
let flagsUrl: string;
let s: TestShortener;
let url: string;

beforeAll(async () => {
  flags = await setupFlags();
  ({ app: flagsApp, url: flagsUrl } = await flags.start());
  s = await setupShortener();
  ({ url } = await s.start({ FLAGS_URL: flagsUrl }));
}, 60_000);

afterAll(async () => {
  await s?.cleanup();
  await flags?.cleanup();
});

const create = (headers: Record<string, string> = USER) => call(url, 'POST', '/v1/links', { url: 'https://example.com/flagged' }, headers);

function creationFlag(fallthrough: 'on' | 'off', onlyFor: string[] = []): Record<string, unknown> {
  const rules = onlyFor.length > 0 ? [{ id: 'allowed-users', clauses: [{ attribute: 'targetingKey', op: 'in', values: onlyFor }], serve: { variant: 'on' } }] : [];
  return { type: 'boolean', description: 'Link creation on/off', variants: { on: true, off: false }, environments: { production: { enabled: true, offVariant: 'off', rules, fallthrough: { variant: fallthrough } } } };
}

describe('link creation behind the flag shortener-link-creation', () => {
  it('when the flag does not exist, then creation is allowed', async () => {
    expect((await create()).status).toBe(201);
  });

  it('when the tenant turns the flag off, then creation answers 503 problem+json for that tenant only, and existing links still redirect', async () => {
    const before = await create();
    expect(before.status).toBe(201);
    expect((await flagsCall(flagsUrl, 'PUT', `/v1/flags/${CREATION_FLAG}`, creationFlag('off'), ADMIN)).status).toBe(201);
    let paused = before;
    await waitFor(async () => (paused = await create()).status === 503, 'the shortener to see the flag turned off');
    expect(paused.headers.get('content-type')).toContain(PROBLEM);
    expect(paused.body.code).toBe('SHORTENER_CREATION_PAUSED');
    expect((await call(url, 'POST', '/v1/links', { url: 'https://example.com/other-tenant' }, { ...USER, 'x-auth-tenant': OTHER_TENANT })).status).toBe(201);
    expect(await follow(url, before.body.code as string)).toMatchObject({ status: 302, location: 'https://example.com/flagged' });
  });

  it('when a rule serves on to one user, then that user creates links and the others stay paused', async () => {
    expect((await flagsCall(flagsUrl, 'PUT', `/v1/flags/${CREATION_FLAG}`, creationFlag('off', [OTHER_USER['x-auth-sub']]), ADMIN)).status).toBe(200);
    await waitFor(async () => (await create(OTHER_USER)).status === 201, 'the rule to reach the shortener');
    expect((await create(USER)).status).toBe(503);
  });

  it('when flags stops, then the last snapshot keeps ruling; when it is back on the same address, the shortener reconnects and follows the next change', async () => {
    await flagsApp.service.stop();
    expect((await create(USER)).status).toBe(503);
    expect((await create(OTHER_USER)).status).toBe(201);
    ({ app: flagsApp } = await flags.start({ PORT: new URL(flagsUrl).port }));
    expect((await flagsCall(flagsUrl, 'PUT', `/v1/flags/${CREATION_FLAG}`, creationFlag('on'), ADMIN)).status).toBe(200);
    await waitFor(async () => (await create(USER)).status === 201, 'creation allowed again after the provider reconnected', 60_000);
  });
});
