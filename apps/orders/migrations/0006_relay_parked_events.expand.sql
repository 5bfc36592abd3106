-- Dead letters of the CDC relay: a committed event the relay cannot publish
-- because its data fails the topic's event schema (a row written around the
-- domain, or a schema that drifted) is recorded here, counted and alerted on,
-- and the relay goes on instead of holding the slot for every later event.
-- The event itself stays in `events`; POST /relay/parked/republish publishes
-- the parked events again once their data or the schema is fixed.
CREATE TABLE relay_parked_events (
  event_id       uuid PRIMARY KEY,
  stream_id      text NOT NULL,
  version        integer NOT NULL,
  type           text NOT NULL,
  error_code     text,
  error          text NOT NULL,
  parked_at      timestamptz NOT NULL DEFAULT now(),
  republished_at timestamptz
);

CREATE INDEX relay_parked_events_waiting ON relay_parked_events (parked_at) WHERE republished_at IS NULL;
