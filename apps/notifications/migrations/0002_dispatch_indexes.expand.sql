-- The dispatcher's hot query reads rows not enqueued yet; rows already in
-- BullMQ (in flight or waiting for a retry) stay out of it.
CREATE INDEX deliveries_undispatched ON deliveries (seq) WHERE status = 'pending' AND enqueued_at IS NULL;
CREATE INDEX messages_undispatched ON messages (created_at) WHERE status = 'queued' AND enqueued_at IS NULL;
