/**
 * The origin as a real process killed with SIGKILL: the edge answers from
 * its stale copy inside the stale-if-error window, and once an origin is back
 * on the same port the edge revalidates and serves the new version.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { freePort, startService, waitFor, type Service } from '@bulwark/test-support';
import { startEdge, type TestEdge } from './support.ts';

const ORIGIN = fileURLToPath(new URL('./fixtures/origin.ts', import.meta.url));
let port: number;
let origin: Service | undefined;
let edge: TestEdge;

beforeAll(async () => {
  port = await freePort();
  origin = await startService({ main: ORIGIN, name: 'origin', port, env: { VERSION: 'v1' } });
  edge = await startEdge(`http://127.0.0.1:${port}`, { ORIGIN_TIMEOUT_MS: '2000' });
});

afterAll(async () => {
  await edge?.stop();
  await origin?.stop();
});

it('when the origin process is killed, then the stored copy answers; when it is back, the edge revalidates', async () => {
  expect((await edge.get('/doc')).body.toString()).toBe('v1');
  await origin!.kill('SIGKILL');
  const during = await edge.get('/doc');
  expect(during.status).toBe(200);
  expect(during.headers['x-cache']).toBe('STALE_IF_ERROR');
  expect(during.body.toString()).toBe('v1');

  origin = await startService({ main: ORIGIN, name: 'origin', port, env: { VERSION: 'v2' } });
  await waitFor(async () => (await edge.get('/doc')).body.toString() === 'v2', 'the new version through the edge');
});
