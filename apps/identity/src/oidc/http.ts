/**
 * Where the OIDC provider meets the service kit: one raw handler (the kit
 * observes the request as for a routed one) that takes discovery and
 * /oidc/… and leaves every other path to Express, including
 * /.well-known/jwks.json (the kit's route: the provider's jwks_uri).
 */
import type { ClientMetadata } from 'oidc-provider';
import type { OpenApiDocument, RawRequestHandler } from '@bulwark/service-kit';
import type { InteractionPages } from './interactions.ts';
import { DISCOVERY_PATH, INTERACTION_PREFIX, OIDC_PREFIX, OIDC_ROUTES, type OidcProvider } from './provider.ts';

const LABELS = Object.values(OIDC_ROUTES).sort((a, b) => b.length - a.length);

/** A bounded route label for metrics and logs: the provider route the path falls under. */
export function routeLabel(path: string): string {
  if (path === DISCOVERY_PATH) return DISCOVERY_PATH;
  const route = LABELS.find((r) => path === r || path.startsWith(`${r}/`));
  if (!route) return `${OIDC_PREFIX}/*`;
  return path === route ? route : `${route}/*`;
}

export function createOidcHandler(oidc: OidcProvider, pages: InteractionPages): RawRequestHandler {
  return (req, res, request) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path.startsWith(INTERACTION_PREFIX)) {
      pages.handle(req, res, request);
      return true;
    }
    if (path !== DISCOVERY_PATH && !path.startsWith(`${OIDC_PREFIX}/`)) return false;
    request.markRoute(routeLabel(path));
    oidc.current().then(({ callback }) => callback(req, res)).catch((err: unknown) => request.fail(err));
    return true;
  };
}

/** OIDC_SERVICE_CLIENTS pairs as confidential client-credentials clients. */
export function serviceClients(pairs: readonly string[]): ClientMetadata[] {
  return pairs.map((pair) => {
    const i = pair.indexOf('=');
    return {
      client_id: pair.slice(0, i),
      client_secret: pair.slice(i + 1),
      client_name: `${pair.slice(0, i)} (service)`,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    };
  });
}

/**
 * identity's /openapi.json with the OIDC discovery document added (the
 * provider's other endpoints are OAuth protocol endpoints, described by
 * discovery itself and answered in RFC 6749's shapes, not as REST operations).
 */
export function withOidcDiscovery(own: OpenApiDocument): OpenApiDocument {
  const discovery = {
    get: {
      operationId: 'getOpenIdConfiguration',
      summary: 'OpenID Connect discovery: the provider\'s endpoints (/oidc/auth, /oidc/token, /oidc/me, /oidc/session/end, …), PKCE S256, grant types, jwks_uri = /.well-known/jwks.json',
      responses: {
        200: {
          description: 'OpenID Provider Metadata (OpenID Connect Discovery 1.0, RFC 8414)',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri', 'response_types_supported'],
                properties: { issuer: { type: 'string' }, authorization_endpoint: { type: 'string' }, token_endpoint: { type: 'string' }, jwks_uri: { type: 'string' }, response_types_supported: { type: 'array', items: { type: 'string' } } },
              },
            },
          },
        },
      },
    },
  };
  return { ...own, paths: { ...own.paths, [DISCOVERY_PATH]: discovery } as OpenApiDocument['paths'] };
}
