/**
 * WebSocket close codes of the collaboration endpoint (documented in the
 * README and the runbook). A refused connection is upgraded first, then
 * closed with one of these, so every client (browsers included) can read why.
 */
export const CLOSE = {
  /** No token, a malformed, forged or expired one, or the token expired on an open connection. Get a new token. */
  UNAUTHORIZED: 4401,
  /** Valid token without a tenant, or whose roles may not read this document. */
  FORBIDDEN: 4403,
  /** No such document in the token's tenant (another tenant's document is not found either). */
  NOT_FOUND: 4404,
  /** identity's key set or PostgreSQL could not be reached to admit the connection; retry. */
  UNAVAILABLE: 4503,
  /** An update could not be stored: nothing of it was acknowledged; the client resyncs on reconnect. */
  NOT_STORED: 1011,
  /** The instance is draining (SIGTERM): reconnect, another instance serves the document. */
  RESTART: 1012,
} as const;

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];
