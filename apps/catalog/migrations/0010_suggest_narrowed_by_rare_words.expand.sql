-- Autocomplete's candidates can be found by the query's rare whole words
-- alone: a prefix (`p:*` of "kindel p") makes the GIN index read the posting
-- lists of every word starting with it before any AND, while the corrected
-- head word (`kindle`) has a handful of products. With `narrow` (the whole
-- words, when they are rarer than the prefix's completions) the index is
-- asked for `narrow` and the full query is checked on those rows only
-- (`ts_match_vq` as a function is no index condition). Same SECURITY DEFINER
-- rules as 0007; the path choice is 0009's.
DROP FUNCTION suggest_candidates(tsquery, integer, integer);

DO $do$
DECLARE
  path text := format('%I, public, pg_temp', current_schema());
BEGIN
  EXECUTE format($f$
    CREATE FUNCTION suggest_candidates(q tsquery, n integer, estimated_hits integer, narrow tsquery)
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
             FROM products p WHERE p.tenant_id = current_setting(''bulwark.tenant'', true) AND %%s
            ORDER BY %%s LIMIT $2) c',
        CASE WHEN narrow IS NULL THEN 'p.search @@ $1' ELSE 'p.search @@ $3 AND ts_match_vq(p.search, $1)' END,
        CASE WHEN walk THEN 'p.popularity DESC, p.id' ELSE '(p.popularity + 0) DESC, p.id' END)
        USING q, n, narrow;
    END $body$$f$, path);
END $do$;
