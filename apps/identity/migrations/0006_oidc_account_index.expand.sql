-- Finds every OIDC row of an account (its provider sessions, grants, codes and
-- tokens), so a password reset ends them with identity's own sessions.
CREATE INDEX oidc_payloads_account_idx ON oidc_payloads ((payload ->> 'accountId')) WHERE payload ? 'accountId';
