-- The processed-event store: one row per (consumer group, CloudEvents id)
-- handled. The consumer inserts the row in the same transaction as the
-- handler's writes, so an event's effects and its mark commit together; a
-- redelivery finds the row and is skipped.
CREATE TABLE processed_events (
  consumer_group text NOT NULL,
  event_id text NOT NULL,
  event_type text NOT NULL,
  topic text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, event_id)
);

-- Pruning by age (pruneProcessedEvents).
CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at);
