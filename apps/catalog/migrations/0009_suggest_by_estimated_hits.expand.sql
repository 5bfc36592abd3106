-- Autocomplete's candidates choose their path from an estimate of the hits
-- (the vocabulary's product counts, passed by the caller) instead of leaving
-- it to the planner, which cannot see that a rare prefix's hits are not spread
-- over the popularity order: walking (tenant_id, popularity DESC) for 200 hits
-- of `chemex:* | chelsea:* | chef:*` read 23,000 rows (250 ms at 200,000
-- products), where the GIN index finds the 2,600 hits at once. The walk reads
-- about n × products / hits rows, the index about hits, so the walk is taken
-- when hits² > n × products (the table's estimate, every tenant: the bias is
-- towards the index). Same SECURITY DEFINER rules as 0007.
DROP FUNCTION suggest_candidates(tsquery, integer);

DO $do$
DECLARE
  path text := format('%I, public, pg_temp', current_schema());
BEGIN
  EXECUTE format($f$
    CREATE FUNCTION suggest_candidates(q tsquery, n integer, estimated_hits integer)
      RETURNS TABLE (id uuid, name text, brand text, popularity integer, in_stock boolean, text_rank real)
      LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 200 SET search_path = %s SET jit = off
    AS $body$
    DECLARE
      products_estimate double precision := GREATEST((SELECT c.reltuples FROM pg_class c WHERE c.oid = 'products'::regclass), 1);
      walk boolean := estimated_hits::double precision * estimated_hits > n * products_estimate;
    BEGIN
      RETURN QUERY EXECUTE format(
        'SELECT c.id, c.name, c.brand, c.popularity, c.in_stock, ts_rank(c.search, $1, 1) FROM (
           SELECT p.id, p.name, p.brand, p.popularity, p.in_stock, p.search
             FROM products p WHERE p.tenant_id = current_setting(''bulwark.tenant'', true) AND p.search @@ $1
            ORDER BY %%s LIMIT $2) c',
        CASE WHEN walk THEN 'p.popularity DESC, p.id' ELSE '(p.popularity + 0) DESC, p.id' END)
        USING q, n;
    END $body$$f$, path);
END $do$;
