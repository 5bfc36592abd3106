-- Search over a query that matches a large share of the catalog ranks a
-- capped candidate set (docs/DECISIONS.md, "Catalog search: capped candidates
-- for broad queries"): `search_hits` returns every match, and at 1,000,000
-- products `black` (125,000 hits) read 70,000 heap pages and took 8.7 s,
-- `usb` (13,000) 0.5 s. `search_popular_hits` returns the `n` most popular
-- products whose name, brand or tags match, found by walking autocomplete's
-- index-only popularity index (0011) over at most `n × rows / min_hits`
-- entries (what a query with `min_hits` hits needs; about 800 index pages at
-- 1,000,000 products), then read by primary key with their weighted text rank
-- over the whole document. Fewer than `n` rows means the query is not broad
-- (its words go together less often than their counts suggested), and the
-- caller searches it whole. The caller takes this path only for queries
-- without filters whose vocabulary counts allow `min_hits`, and says that the
-- total and the facets are estimates. Same SECURITY DEFINER rules as 0007.
DO $do$
DECLARE
  path text := format('%I, public, pg_temp', current_schema());
BEGIN
  EXECUTE format($f$
    CREATE FUNCTION search_popular_hits(q tsquery, n integer, min_hits integer)
      RETURNS TABLE (id uuid, name text, brand text, category_slug text, price_min bigint, price_max bigint, popularity integer,
                     created_at timestamptz, rating_count integer, rating_sum bigint, in_stock boolean, text_rank real)
      LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 200 SET search_path = %s SET jit = off
    AS $body$
    DECLARE
      rows_estimate double precision := (SELECT c.reltuples FROM pg_class c WHERE c.oid = 'product_suggest'::regclass);
      -- Never analyzed, or analyzed empty: no estimate, so no bound on the walk (LIMIT NULL).
      walk bigint := CASE WHEN rows_estimate > 0 THEN ceil(n * rows_estimate / GREATEST(min_hits, 1)) END;
    BEGIN
      RETURN QUERY EXECUTE
        'SELECT p.id, p.name, p.brand, p.category_slug, p.price_min, p.price_max, p.popularity, p.created_at, p.rating_count, p.rating_sum, p.in_stock, ts_rank(p.search, $1, 1)
           FROM (SELECT w.product_id FROM (
                   SELECT s.product_id, s.popularity, s.doc FROM product_suggest s
                    WHERE s.tenant_id = current_setting(''bulwark.tenant'', true)
                    ORDER BY s.popularity DESC, s.product_id LIMIT $3) w
                  WHERE w.doc @@ $1 ORDER BY w.popularity DESC, w.product_id LIMIT $2) c
           JOIN products p ON p.tenant_id = current_setting(''bulwark.tenant'', true) AND p.id = c.product_id'
        USING q, n, walk;
    END $body$$f$, path);
END $do$;
