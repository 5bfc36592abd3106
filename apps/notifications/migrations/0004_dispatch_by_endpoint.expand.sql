-- The dispatcher's pass is driven from the endpoints it may deliver to
-- (active, breaker not open), one index probe each, so pending rows of a
-- disabled endpoint (kept for when it is enabled again) cost the pass
-- nothing. deliveries_undispatched (seq) read them all: 85,000 rows of one
-- disabled endpoint made every pass ~91 ms (issue 34).
CREATE INDEX deliveries_undispatched_by_endpoint ON deliveries (endpoint_id, seq) WHERE status = 'pending' AND enqueued_at IS NULL;
-- Endpoints the pass visits: active ones (a partial index stays small when most are disabled).
CREATE INDEX endpoints_active ON endpoints (id) WHERE status = 'active';
