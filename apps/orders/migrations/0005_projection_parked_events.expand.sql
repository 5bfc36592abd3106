-- Dead letters of the projections: an event a projection could not apply
-- (it breaks the order's rules, or its data does not match its schema) is
-- recorded here and the projection goes on past it. One row per projection
-- and event; a rebuild re-applies every event and keeps only the rows of
-- events that still fail (src/projections/parking.ts).
CREATE TABLE projection_parked_events (
  projection     text NOT NULL,
  event_id       uuid NOT NULL,
  -- The event's global position (src/store/global-log.ts).
  transaction_id xid8 NOT NULL,
  id             bigint NOT NULL,
  stream_id      text NOT NULL,
  version        integer NOT NULL,
  type           text NOT NULL,
  error_code     text,
  error          text NOT NULL,
  parked_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, event_id)
);

CREATE INDEX projection_parked_events_position ON projection_parked_events (projection, transaction_id, id);
