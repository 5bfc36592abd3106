-- Keys per tenant (issue 25): the same Idempotency-Key sent by two tenants
-- names two requests, never one (before, the second tenant was replayed the
-- first tenant's response, or refused as a reuse). tenant_id is the tenant
-- of the database context the request runs in (the gateway's verified
-- x-auth-tenant), '' for a request without one. The default fills existing
-- rows without a rewrite; the unique index is the key's new identity (the
-- middleware's ON CONFLICT arbiter); 0003 drops the old (scope, key) key.
-- Not under row-level security: the middleware works on a session of its
-- own (advisory lock, bookkeeping outside the business transaction), and
-- every statement names the tenant in its key, so a tenant reads or
-- replays only its own keys; the business writes themselves run in the
-- tenant's scoped transaction.
ALTER TABLE idempotency_keys ADD COLUMN tenant_id text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX idempotency_keys_tenant_key ON idempotency_keys (scope, tenant_id, key);
