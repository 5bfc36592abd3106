/**
 * The real identity as the token issuer for other services' tests: started
 * in-process on its own schema with orders and notifications registered as
 * service clients (as scripts/up.ts and the charts register them), so a test
 * gets orders' real client-credentials token, another service's (to prove a
 * route serves only its callers), a real user's token, and the settings a
 * callee verifies them with (JWKS_URL, JWT_ISSUER, JWT_AUDIENCE).
 */
import { afterAll } from '@jest/globals';
import { createClientCredentialsProvider, type TokenProvider } from '@bulwark/service-kit/service-auth';
import { SERVICE_SECRET, startWithIssuer } from './oidc-support.ts';
import { login, setupIdentity, verifiedAccount } from './support.ts';

export interface ServiceIssuer {
  url: string;
  /** What a service verifying identity's tokens is configured with. */
  readonly verifierEnv: { JWKS_URL: string; JWT_ISSUER: string; JWT_AUDIENCE: string };
  /** What orders' saga is configured with to get its token. */
  readonly ordersEnv: { IDENTITY_URL: string; IDENTITY_CLIENT_ID: string; IDENTITY_CLIENT_SECRET: string };
  /** orders' client-credentials tokens. */
  readonly orders: TokenProvider;
  /** notifications' client-credentials tokens: a valid service token of a client that is not orders. */
  readonly notifications: TokenProvider;
  /** The access token of a verified user of the test tenant (no `service` role). */
  userToken(): Promise<string>;
  cleanup(): Promise<void>;
}

export async function startServiceIssuer(): Promise<ServiceIssuer> {
  const identity = await setupIdentity();
  try {
    const { url } = await startWithIssuer(identity);
    let user: Promise<string> | undefined;
    return {
      url,
      verifierEnv: { JWKS_URL: `${url}/.well-known/jwks.json`, JWT_ISSUER: url, JWT_AUDIENCE: 'bulwark' },
      ordersEnv: { IDENTITY_URL: url, IDENTITY_CLIENT_ID: 'orders', IDENTITY_CLIENT_SECRET: SERVICE_SECRET },
      orders: createClientCredentialsProvider({ tokenUrl: `${url}/oidc/token`, clientId: 'orders', clientSecret: SERVICE_SECRET }),
      notifications: createClientCredentialsProvider({ tokenUrl: `${url}/oidc/token`, clientId: 'notifications', clientSecret: SERVICE_SECRET }),
      userToken() {
        user ??= verifiedAccount(identity, url).then(async ({ email }) => (await login(url, email)).body.accessToken as string);
        return user;
      },
      cleanup: () => identity.cleanup(),
    };
  } catch (err) {
    await identity.cleanup();
    throw err;
  }
}

let shared: Promise<ServiceIssuer> | undefined;
// Registered when a test file imports this module (hooks cannot be added once tests run).
afterAll(async () => {
  const started = shared;
  shared = undefined;
  if (started) await (await started).cleanup();
});

/**
 * One issuer per test file: started by the first call, removed after the
 * file's last test (for test supports whose setup runs before each test).
 */
export function sharedServiceIssuer(): Promise<ServiceIssuer> {
  shared ??= startServiceIssuer();
  return shared;
}
