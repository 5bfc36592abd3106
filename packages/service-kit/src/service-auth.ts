/**
 * `@bulwark/service-kit/service-auth`: service-to-service authentication in
 * one place. Verify the bearer tokens a service receives (token-verifier.ts)
 * and obtain the token a service sends (client-credentials.ts). Loads neither
 * Express nor OpenTelemetry.
 */
export {
  AUTH_ERROR_CODES,
  SERVICE_ROLE,
  SERVICE_TOKEN_ERRORS,
  SERVICE_TOKEN_HEADERS,
  assertRoles,
  createTokenVerifier,
  principalOf,
  requireServiceToken,
  tokenMissing,
  verifyServiceToken,
  type Principal,
  type ServiceTokenRequirements,
  type TokenVerifier,
  type TokenVerifierOptions,
} from './token-verifier.ts';
export { TokenRequestError, createClientCredentialsProvider, type ClientAuthMethod, type ClientCredentialsOptions, type TokenProvider } from './client-credentials.ts';
