-- Checkout sagas (src/saga/): one row per order's checkout, the full state
-- machine state in `state`, plus the columns the runner claims by. A runner
-- claims due sagas with FOR UPDATE SKIP LOCKED and holds a lease
-- (lease_owner, lease_until); a runner that dies loses its lease when
-- lease_until passes and another one resumes the saga at its recorded step.
CREATE TABLE checkout_sagas (
  saga_id         uuid PRIMARY KEY,
  order_id        text NOT NULL UNIQUE,
  status          text NOT NULL CHECK (status IN ('running', 'compensating', 'completed', 'failed')),
  step            text,
  state           jsonb NOT NULL,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  deadline_at     timestamptz NOT NULL,
  expired         boolean NOT NULL DEFAULT false,
  lease_owner     text,
  lease_until     timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The runner's claim: unfinished sagas by due time.
CREATE INDEX checkout_sagas_due ON checkout_sagas (next_attempt_at) WHERE status IN ('running', 'compensating');

-- Every step outcome, for GET /orders/:id/checkout and post-mortems.
CREATE TABLE checkout_saga_steps (
  saga_id    uuid NOT NULL REFERENCES checkout_sagas (saga_id),
  seq        bigint GENERATED ALWAYS AS IDENTITY,
  step       text NOT NULL,
  outcome    text NOT NULL,
  detail     text,
  at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (saga_id, seq)
);
