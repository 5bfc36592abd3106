-- Keys per tenant, second half (0002): (scope, key) no longer identifies a
-- key, so two tenants' rows with the same key may coexist; the
-- (scope, tenant_id, key) index becomes the primary key.
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY USING INDEX idempotency_keys_tenant_key;
