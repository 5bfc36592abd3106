-- Hourly rollups of analytics events (issue 31), kept by the writer in the
-- same statement and transaction as the raw insert: for each event newly
-- stored (a duplicate adds nothing) its (tenant, type, UTC hour) bucket gains
-- one under field '' and, for each top-level numeric property, one value
-- under that property's name (n, sum, min, max). A late event lands in its
-- own old hour. Day buckets are summed from the 24 hours (UTC days), so one
-- table serves both. updated_at drives the live feed (GET /v1/live).
CREATE TABLE event_rollups_hourly (
  tenant_id text NOT NULL,
  type text NOT NULL,
  -- '' for the count of events; else the numeric property the values are of.
  field text NOT NULL,
  bucket timestamptz NOT NULL,
  n bigint NOT NULL,
  sum float8 NOT NULL DEFAULT 0,
  min float8,
  max float8,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, type, field, bucket)
);

CREATE INDEX event_rollups_hourly_updated ON event_rollups_hourly (tenant_id, updated_at);

SELECT enable_tenant_rls('event_rollups_hourly');

-- Events stored before this migration (the rollup starts complete).
INSERT INTO event_rollups_hourly (tenant_id, type, field, bucket, n, sum, min, max)
SELECT tenant_id, type, field, bucket, count(*), coalesce(sum(v), 0), min(v), max(v)
  FROM (
    SELECT tenant_id, type, '' AS field, date_bin('1 hour', occurred_at, '2000-01-01T00:00:00Z') AS bucket, NULL::float8 AS v FROM events
    UNION ALL
    SELECT e.tenant_id, e.type, p.key, date_bin('1 hour', e.occurred_at, '2000-01-01T00:00:00Z'), (p.value #>> '{}')::float8
      FROM events e, jsonb_each(e.props) AS p(key, value)
     WHERE jsonb_typeof(p.value) = 'number'
  ) rows
 GROUP BY 1, 2, 3, 4;
