-- Autocomplete reads a narrow table of its own (docs/DECISIONS.md, "Catalog
-- autocomplete from a narrow table"): per product only what choosing and
-- ranking its candidates needs (popularity, in_stock, and a document of the
-- name, brand and tags: the words the vocabulary holds), with the tenant's
-- popularity order as an index that carries the document (INCLUDE), so
-- walking it for the 50 most popular hits of a prefix is an index-only scan
-- over consecutive leaf pages. On products every hit was a heap page of its
-- own: at 1,000,000 products a prefix of mid density (5,000–9,000 hits, where
-- neither the walk nor the GIN index stops early) read 5,000–8,000 pages
-- (100–460 ms); the same walk here reads about 170 (products 981 MB, this
-- table 142 MB, its walk index 142 MB, at 1,000,000).
--
-- The document is bounded (name 150, brand 60, tags 150 characters) so an
-- index entry stays far below the 2.7 kB btree limit whatever a product
-- holds; words past those lengths are not autocompleted (search still finds
-- them). It is written by statement-level triggers on products, in the
-- writing transaction, as the writer (row-level security applies like on
-- products: a tenant writes its rows, inventory's stock updates run in the
-- system context); an UPDATE that changes none of these columns (ratings)
-- writes nothing here. The functions keep the migration's search_path.
--
-- Product writes wait for this migration (from the start, in the lock the
-- triggers need, SHARE ROW EXCLUSIVE, which reads pass): a product written
-- between the backfill's snapshot and the triggers would otherwise be
-- missing here. 96 s at 1,000,000 products on the bench machine (load ≈ 22),
-- under a second for a demo catalog.
LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE;

CREATE FUNCTION suggest_document(name text, brand text, tags text[]) RETURNS tsvector
  LANGUAGE sql STABLE PARALLEL SAFE SET search_path FROM CURRENT
  RETURN setweight(to_tsvector('english'::regconfig, left(name, 150)), 'A')
      || setweight(to_tsvector('simple'::regconfig, left(brand, 60)), 'B')
      || setweight(to_tsvector('english'::regconfig, left(array_to_string(tags, ' '), 150)), 'B');

CREATE TABLE product_suggest (
  tenant_id text NOT NULL,
  product_id uuid NOT NULL,
  popularity integer NOT NULL,
  in_stock boolean NOT NULL,
  doc tsvector NOT NULL,
  PRIMARY KEY (tenant_id, product_id)
);

INSERT INTO product_suggest (tenant_id, product_id, popularity, in_stock, doc)
  SELECT tenant_id, id, popularity, in_stock, suggest_document(name, brand, tags) FROM products;

CREATE INDEX product_suggest_walk_idx ON product_suggest (tenant_id, popularity DESC, product_id) INCLUDE (in_stock, doc);
CREATE INDEX product_suggest_doc_idx ON product_suggest USING gin (doc);
-- The candidates function below reads the row estimate; an index-only walk wants the visibility map autovacuum keeps.
ANALYZE product_suggest;

SELECT enable_tenant_rls('product_suggest');

CREATE FUNCTION product_suggest_inserted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO product_suggest (tenant_id, product_id, popularity, in_stock, doc)
    SELECT n.tenant_id, n.id, n.popularity, n.in_stock, suggest_document(n.name, n.brand, n.tags) FROM new_rows n;
  RETURN NULL;
END $$;

CREATE FUNCTION product_suggest_updated() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE product_suggest s SET popularity = n.popularity, in_stock = n.in_stock, doc = suggest_document(n.name, n.brand, n.tags)
    FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
   WHERE s.tenant_id = n.tenant_id AND s.product_id = n.id
     AND (o.name, o.brand, o.tags, o.popularity, o.in_stock) IS DISTINCT FROM (n.name, n.brand, n.tags, n.popularity, n.in_stock);
  RETURN NULL;
END $$;

CREATE FUNCTION product_suggest_deleted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  DELETE FROM product_suggest s USING old_rows o WHERE s.tenant_id = o.tenant_id AND s.product_id = o.id;
  RETURN NULL;
END $$;

CREATE TRIGGER products_suggest_inserted AFTER INSERT ON products REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION product_suggest_inserted();
CREATE TRIGGER products_suggest_updated AFTER UPDATE ON products REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION product_suggest_updated();
CREATE TRIGGER products_suggest_deleted AFTER DELETE ON products REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION product_suggest_deleted();

-- Autocomplete's candidates from the narrow table: the `n` most popular hits
-- of `q` (or of `narrow`, checking `q` on those rows: 0010), ranked by the
-- bounded document. The walk is taken when the vocabulary's hit estimate says
-- n hits come within a few pages of the walk index: it reads about
-- n × rows / hits entries, some 50 to a page, where the GIN index reads a heap
-- page per hit, so the walk wins when hits² > n × rows / 50 (about 1,000 hits
-- at 1,000,000 products, where 0009 put it at 7,000 on the products table).
-- Same SECURITY DEFINER rules as 0007.
DROP FUNCTION suggest_candidates(tsquery, integer, integer, tsquery);

DO $do$
DECLARE
  path text := format('%I, public, pg_temp', current_schema());
BEGIN
  EXECUTE format($f$
    CREATE FUNCTION suggest_candidates(q tsquery, n integer, estimated_hits integer, narrow tsquery)
      RETURNS TABLE (id uuid, popularity integer, in_stock boolean, text_rank real)
      LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 50 SET search_path = %s SET jit = off
    AS $body$
    DECLARE
      rows_estimate double precision := GREATEST((SELECT c.reltuples FROM pg_class c WHERE c.oid = 'product_suggest'::regclass), 1);
      walk boolean := estimated_hits::double precision * estimated_hits * 50 > n * rows_estimate;
    BEGIN
      RETURN QUERY EXECUTE format(
        'SELECT c.product_id, c.popularity, c.in_stock, ts_rank(c.doc, $1, 1) FROM (
           SELECT s.product_id, s.popularity, s.in_stock, s.doc
             FROM product_suggest s WHERE s.tenant_id = current_setting(''bulwark.tenant'', true) AND %%s
            ORDER BY %%s LIMIT $2) c',
        CASE WHEN narrow IS NULL THEN 's.doc @@ $1' ELSE 's.doc @@ $3 AND ts_match_vq(s.doc, $1)' END,
        CASE WHEN walk THEN 's.popularity DESC, s.product_id' ELSE '(s.popularity + 0) DESC, s.product_id' END)
        USING q, n, narrow;
    END $body$$f$, path);
END $do$;
