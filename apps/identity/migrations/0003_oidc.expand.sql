-- The OIDC provider's state (oidc-provider adapter): sessions, interactions,
-- grants, authorization codes, opaque access and refresh tokens, one row per
-- (model, id) with the payload the library hands over. grant_id lets a
-- revoked grant remove every token of it at once; uid finds a session by
-- its cookie-bound uid. Rows past expires_at are never read and are deleted
-- by housekeeping.
CREATE TABLE oidc_payloads (
  model text NOT NULL,
  id text NOT NULL,
  payload jsonb NOT NULL,
  grant_id text,
  user_code text,
  uid text,
  expires_at timestamptz,
  consumed_at timestamptz,
  PRIMARY KEY (model, id)
);
CREATE INDEX oidc_payloads_grant_idx ON oidc_payloads (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oidc_payloads_uid_idx ON oidc_payloads (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX oidc_payloads_user_code_idx ON oidc_payloads (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX oidc_payloads_expiry_idx ON oidc_payloads (expires_at) WHERE expires_at IS NOT NULL;
