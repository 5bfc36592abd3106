/**
 * Through the real HTTP gateway with the shipped collab routes: the
 * journey's document step (create over REST, edit over the WebSocket
 * pass-through with y-websocket's client, read back over REST), and a
 * refusal at the gateway before any upgrade.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { redisUrl, type Service } from '@bulwark/test-support';
import { startGateway, type TestGateway } from '../../gateway/test/support.ts';
import { editDocument } from '../../../scripts/journey/collab.ts';
import type { Step } from '../../../scripts/journey.ts';
import { setupCollab, type TestCollab } from './support.ts';

let t: TestCollab;
let collab: Service;
let gateway: TestGateway;

beforeAll(async () => {
  t = await setupCollab();
  collab = await t.spawn();
  const shipped = JSON.parse(readFileSync(new URL('../../gateway/routes.json', import.meta.url), 'utf8')) as { routes: { id: string; upstream: string }[]; upstreams: Record<string, Record<string, unknown>>; rateLimitPolicies: unknown[] };
  gateway = await startGateway(
    { upstreams: { collab: { ...shipped.upstreams.collab, url: collab.url } }, rateLimitPolicies: shipped.rateLimitPolicies, routes: shipped.routes.filter((r) => r.upstream === 'collab') },
    { JWKS_URL: t.issuer.jwksUrl, JWKS_COOLDOWN_MS: '0', REDIS_URL: redisUrl() },
  );
}, 120_000);
afterAll(async () => {
  await gateway?.stop();
  await t.cleanup();
});

describe('collab through the gateway', () => {
  it("when the journey's document step runs through the gateway, then the text typed over the WebSocket is read back over REST", async () => {
    const steps: Step[] = [];
    await editDocument({ gateway: gateway.url, mail: '', inventory: '' }, await t.token(), (s) => steps.push(s));
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ['create a shared document', 201],
      ['open the document over the WebSocket (through the gateway)', 101],
      ['read the document back through REST', 200],
    ]);
  }, 60_000);

  it('when the upgrade carries no token, then the gateway refuses it with 401 before collab sees it', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}/v1/collab/00000000-0000-4000-8000-000000000000`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('the gateway upgraded a request without a token')));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(401);
  });
});
