-- Search reads the text indexes through SECURITY DEFINER functions
-- (docs/DECISIONS.md, "Catalog search through definer functions").
--
-- Under row-level security PostgreSQL applies a non-LEAKPROOF qual only after
-- the policy, and neither `@@` (ts_match_vq) nor pg_trgm's `%` is LEAKPROOF:
-- as the runtime role no full-text or trigram GIN index is ever an index
-- condition, so every search scanned the tenant's rows. These functions run as
-- their owner (the migration role, which bypasses RLS in dev and in the
-- cluster: a superuser) and name the tenant themselves, from the setting the
-- policies read (`bulwark.tenant`): outside a tenant it is NULL and nothing
-- matches. Each returns only what search needs of the caller's tenant's rows;
-- the statements around them run under RLS as before. When the owner does not
-- bypass RLS (FORCE binds it), the policies still apply inside: the same rows,
-- only slower. The functions are planned per call with the caller's values
-- (EXECUTE … USING), take their search_path from the schema they are made in,
-- with pg_temp last so no caller's temporary table can stand in for a table,
-- and run with jit off: JIT compiling costs more than these statements.
--
-- Stock (issue 28, the "in stock" filter and the ranking's availability term):
-- variants.available is what inventory last said is available for the SKU
-- (NULL: catalog never heard of it); products.in_stock is false only when every
-- variant is known to have none, so a catalog that never heard from inventory
-- shows everything in stock, as before.
ALTER TABLE variants ADD COLUMN available integer;
ALTER TABLE products ADD COLUMN in_stock boolean NOT NULL DEFAULT true;

DO $do$
DECLARE
  path text := format('%I, public, pg_temp', current_schema());
BEGIN
  -- Every product of the tenant whose document matches `q`, with its weighted text rank.
  EXECUTE format($f$
    CREATE FUNCTION search_hits(q tsquery)
      RETURNS TABLE (id uuid, name text, brand text, category_slug text, price_min bigint, price_max bigint, popularity integer,
                     created_at timestamptz, rating_count integer, rating_sum bigint, in_stock boolean, text_rank real)
      LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 1000 SET search_path = %s SET jit = off
    AS $body$
    BEGIN
      RETURN QUERY EXECUTE
        'SELECT p.id, p.name, p.brand, p.category_slug, p.price_min, p.price_max, p.popularity, p.created_at, p.rating_count, p.rating_sum, p.in_stock, ts_rank(p.search, $1, 1)
           FROM products p WHERE p.tenant_id = current_setting(''bulwark.tenant'', true) AND p.search @@ $1'
        USING q;
    END $body$$f$, path);

  -- Autocomplete's candidates: the `n` most popular products of the tenant matching `q`.
  EXECUTE format($f$
    CREATE FUNCTION suggest_candidates(q tsquery, n integer)
      RETURNS TABLE (id uuid, name text, brand text, popularity integer, in_stock boolean, text_rank real)
      LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 200 SET search_path = %s SET jit = off
    AS $body$
    BEGIN
      RETURN QUERY EXECUTE
        'SELECT p.id, p.name, p.brand, p.popularity, p.in_stock, ts_rank(p.search, $1, 1)
           FROM products p WHERE p.tenant_id = current_setting(''bulwark.tenant'', true) AND p.search @@ $1
          ORDER BY p.popularity DESC, p.id LIMIT $2'
        USING q, n;
    END $body$$f$, path);

  -- "Did you mean": the tenant's product name closest to `t` by trigram similarity (pg_trgm's threshold).
  EXECUTE format($f$
    CREATE FUNCTION closest_product_name(t text)
      RETURNS text
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = %s SET jit = off
    AS $body$
    DECLARE
      found text;
    BEGIN
      EXECUTE
        'SELECT p.name FROM products p WHERE p.tenant_id = current_setting(''bulwark.tenant'', true) AND lower(p.name) OPERATOR(public.%%) $1
          ORDER BY public.similarity(lower(p.name), $1) DESC, p.popularity DESC LIMIT 1'
        INTO found USING t;
      RETURN found;
    END $body$$f$, path);
END $do$;
