-- Authorizations the orphan reconciler found at the PSP with no payment row
-- (the authorizing transaction rolled back and its key was not retried) and
-- voided (src/domain/orphan-authorizations.ts). A later retry of that key
-- gets the PSP's stored authorization replayed; the authorize use case looks
-- here and refuses it rather than record an authorization the PSP voided.
CREATE TABLE psp_orphan_voids (
  psp_intent_id text PRIMARY KEY,
  -- from the intent's metadata (what payments sent); null if it had none
  payment_id text,
  order_id text,
  amount bigint NOT NULL,
  currency char(3) NOT NULL,
  intent_created_at timestamptz NOT NULL,
  voided_at timestamptz NOT NULL DEFAULT now()
);
