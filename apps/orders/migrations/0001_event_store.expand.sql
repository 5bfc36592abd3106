-- Event store: one row per stream (its head version) and the append-only
-- event log. The global order of the log is (transaction_id, id): see
-- src/store/global-log.ts for why `id` alone is not a safe position.
CREATE TABLE streams (
  stream_id   text PRIMARY KEY,
  stream_type text NOT NULL,
  version     integer NOT NULL CHECK (version > 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  event_id       uuid NOT NULL UNIQUE,
  stream_id      text NOT NULL,
  version        integer NOT NULL CHECK (version > 0),
  type           text NOT NULL,
  data           jsonb NOT NULL,
  metadata       jsonb NOT NULL DEFAULT '{}',
  recorded_at    timestamptz NOT NULL DEFAULT now(),
  -- Optimistic concurrency backstop: two writers can never both own a version.
  CONSTRAINT events_stream_version_unique UNIQUE (stream_id, version)
);

-- Followers read the global log in (transaction_id, id) order.
CREATE INDEX events_global_order ON events (transaction_id, id);

CREATE TABLE snapshots (
  stream_id      text PRIMARY KEY,
  version        integer NOT NULL,
  schema_version integer NOT NULL,
  state          jsonb NOT NULL,
  taken_at       timestamptz NOT NULL DEFAULT now()
);
