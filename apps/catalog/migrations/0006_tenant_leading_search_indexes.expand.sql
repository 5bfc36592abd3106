-- Search and autocomplete name their tenant explicitly
-- (`tenant_id = current_setting('bulwark.tenant', true)`, src/store/search-store.ts):
-- the row-level security policies are OR-ed (tenant, system, reporting), so the
-- planner never derives an index condition on tenant_id from them. With the
-- predicate, an index leading with tenant_id can be walked in popularity order
-- (autocomplete's candidates, browsing without words) and stop early. RLS stays
-- the guarantee; the predicate is only for the planner.
CREATE INDEX products_tenant_popularity_idx ON products (tenant_id, popularity DESC, id);
-- The rating filter (min average) reads rating_sum / rating_count of rated products only.
CREATE INDEX products_tenant_rated_idx ON products (tenant_id, ((rating_sum::numeric) / rating_count)) WHERE rating_count > 0;
