-- Analytics events (issue 31), one row per event, per tenant under row-level
-- security (enable_tenant_rls, packages/db). Range-partitioned by day on
-- occurred_at: the service creates the daily partitions ahead (and back to
-- ACCEPT_PAST_DAYS) with the owner's pool, a query over a time range reads
-- only its days, and retention will drop whole days. BRIN on occurred_at:
-- rows arrive roughly in time order, so block ranges stay narrow and the
-- index costs a few pages per partition instead of a B-tree entry per row.
CREATE TABLE events (
  tenant_id text NOT NULL,
  -- The producer's id (REST) or the CloudEvents id (platform topics): duplicates are dropped on it.
  event_id text NOT NULL,
  occurred_at timestamptz NOT NULL,
  type text NOT NULL,
  -- 'api', or the platform topic the event was read from.
  source text NOT NULL,
  user_id text,
  props jsonb NOT NULL DEFAULT '{}',
  received_at timestamptz NOT NULL DEFAULT now(),
  -- A unique key on a partitioned table must hold the partition key: the same id at the same
  -- occurred_at (a resend, a redelivery) is stored once; see docs/DECISIONS.md (analytics).
  PRIMARY KEY (tenant_id, event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX events_occurred_at_brin ON events USING brin (occurred_at) WITH (pages_per_range = 32);

SELECT enable_tenant_rls('events');
