-- Idempotency-Keys per tenant (issue 25): a payment's key and an operation's
-- key were unique across tenants, so a second tenant sending a key another
-- tenant had used conflicted with a row it cannot see (refused, and the key's
-- existence showed). They become unique per (tenant_id, key). NULLS NOT
-- DISTINCT keeps rows from before tenants (tenant_id NULL) unique among
-- themselves, as they were. Building the indexes reads the tables once; the
-- old constraints go in the same migration because the code's
-- `ON CONFLICT DO NOTHING` names no constraint and works with either.
CREATE UNIQUE INDEX payments_tenant_idempotency_key ON payments (tenant_id, idempotency_key) NULLS NOT DISTINCT;
ALTER TABLE payments DROP CONSTRAINT payments_idempotency_key_key;

CREATE UNIQUE INDEX payment_operations_tenant_key ON payment_operations (tenant_id, idempotency_key) NULLS NOT DISTINCT;
ALTER TABLE payment_operations DROP CONSTRAINT payment_operations_pkey;
