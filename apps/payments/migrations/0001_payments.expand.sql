-- Payments, their PSP state, the idempotency records of capture/void/refund,
-- the double-entry ledger and the processed PSP webhook events.

CREATE TABLE payments (
  id uuid PRIMARY KEY,
  order_id text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  currency char(3) NOT NULL,
  -- pending: the authorization call is in flight inside the creating transaction (never visible committed)
  status text NOT NULL CHECK (status IN ('pending', 'authorized', 'declined', 'captured', 'partially_refunded', 'refunded', 'voided')),
  idempotency_key text NOT NULL UNIQUE,
  fingerprint text NOT NULL,
  psp_intent_id text UNIQUE,
  -- version of the PSP intent snapshot this row reflects; only ever grows
  psp_version integer NOT NULL DEFAULT 0,
  amount_captured bigint NOT NULL DEFAULT 0,
  amount_refunded bigint NOT NULL DEFAULT 0,
  decline_code text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_order_id ON payments (order_id);

CREATE TABLE payment_operations (
  idempotency_key text PRIMARY KEY,
  payment_id uuid NOT NULL REFERENCES payments (id),
  kind text NOT NULL CHECK (kind IN ('capture', 'void', 'refund')),
  fingerprint text NOT NULL,
  response_status integer,
  response_body jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One balanced group of rows per PSP transition (payment, intent version):
-- posted by whichever of the API response or the webhook arrives first.
CREATE TABLE ledger_entries (
  id bigserial PRIMARY KEY,
  payment_id uuid NOT NULL REFERENCES payments (id),
  psp_version integer NOT NULL,
  kind text NOT NULL CHECK (kind IN ('capture', 'refund')),
  account text NOT NULL,
  amount bigint NOT NULL,
  currency char(3) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (payment_id, psp_version, account)
);

CREATE TABLE psp_webhook_events (
  event_id text PRIMARY KEY,
  payment_id uuid NOT NULL,
  type text NOT NULL,
  psp_version integer NOT NULL,
  applied boolean NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
