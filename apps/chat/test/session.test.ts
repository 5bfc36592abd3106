/**
 * Sessions on long-lived connections, with the real identity service: a
 * connection whose session is logged out is closed 4005 at the next session
 * check, and a token of a logged-out session is refused 4005 at connect.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call } from '@bulwark/test-support';
import { login, setupIdentity, verifiedAccount, type TestIdentity } from '../../identity/test/support.ts';
import { CLOSE } from '../src/realtime/protocol.ts';
import { ChatClient, setupChat, type TestChat } from './support.ts';

let identity: TestIdentity;
let identityUrl: string;
let t: TestChat;
let url: string;

beforeAll(async () => {
  identity = await setupIdentity();
  ({ url: identityUrl } = await identity.start());
  t = await setupChat();
  ({ url } = await t.start({ JWKS_URL: `${identityUrl}/.well-known/jwks.json`, IDENTITY_URL: identityUrl, SESSION_CHECK_INTERVAL_MS: '200' }));
});
afterAll(async () => {
  await t?.cleanup();
  await identity?.cleanup();
});

describe('sessions', () => {
  it("when the user logs out, then the open connection is closed 4005 and the session's token is refused 4005 at connect", async () => {
    const { email } = await verifiedAccount(identity, identityUrl);
    const session = (await login(identityUrl, email)).body as { accessToken: string; refreshToken: string };
    const client = await ChatClient.connect(url, session.accessToken);
    expect(client.closed).toBeUndefined();
    expect((await call(identityUrl, 'POST', '/v1/sessions/logout', { refreshToken: session.refreshToken })).status).toBe(204);
    expect(await client.closedWith()).toMatchObject({ code: CLOSE.SESSION_REVOKED });
    expect(await new ChatClient(url, { token: session.accessToken }).closedWith()).toMatchObject({ code: CLOSE.SESSION_REVOKED });
  });
});
