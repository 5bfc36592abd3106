-- Series read the rollups by (type, field, bucket range) under row-level
-- security, whose policy is an OR (tenant, system context, reporting role):
-- the primary key, led by tenant_id, cannot serve it, and a table of every
-- tenant's hours would be read whole. This index narrows to the type, field
-- and hours first; the policy filters the few rows left.
CREATE INDEX event_rollups_hourly_series ON event_rollups_hourly (type, field, bucket);
