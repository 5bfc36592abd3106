-- "Did you mean" reads the tenant's distinct product names (product_names)
-- instead of every product: at 1,000,000 demo products a query with no hits
-- (`purple elephant`, `kindle grinder`) ranked every name over pg_trgm's
-- threshold from products' GIN index, 0.2–1.7 s, where the 53,880 distinct
-- names answer in 27–44 ms (measured on a copy). A GiST index ordered by
-- distance (`<->`) was tried first: with nothing near it reads the whole
-- index (1.9 s). Among equally similar names the one most products carry
-- wins (it was the most popular product's: a count can be kept on delete, a
-- maximum cannot). Kept by statement-level triggers on products in the
-- writing transaction, as the writer (row-level security like products);
-- product writes wait for the backfill (as 0011). Same SECURITY DEFINER rules
-- as 0007 for the function.
LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE product_names (
  tenant_id text NOT NULL,
  -- lower(name): what similarity compares; `shown` is a product's name as written.
  name text NOT NULL,
  shown text NOT NULL,
  products integer NOT NULL,
  PRIMARY KEY (tenant_id, name)
);

INSERT INTO product_names (tenant_id, name, shown, products)
  SELECT tenant_id, lower(name), min(name), count(*) FROM products GROUP BY 1, 2;

CREATE INDEX product_names_trgm_idx ON product_names USING gin (name public.gin_trgm_ops);
ANALYZE product_names;

SELECT enable_tenant_rls('product_names');

CREATE FUNCTION product_names_inserted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO product_names AS n (tenant_id, name, shown, products)
    SELECT r.tenant_id, lower(r.name), min(r.name), count(*) FROM new_rows r GROUP BY 1, 2
    ON CONFLICT (tenant_id, name) DO UPDATE SET products = n.products + EXCLUDED.products;
  RETURN NULL;
END $$;

CREATE FUNCTION product_names_deleted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE product_names n SET products = n.products - o.products
    FROM (SELECT r.tenant_id, lower(r.name) AS name, count(*) AS products FROM old_rows r GROUP BY 1, 2) o
   WHERE n.tenant_id = o.tenant_id AND n.name = o.name;
  DELETE FROM product_names n USING old_rows r WHERE n.tenant_id = r.tenant_id AND n.name = lower(r.name) AND n.products <= 0;
  RETURN NULL;
END $$;

-- A rename moves the product from its old name's count to its new one's; other updates change nothing here.
CREATE FUNCTION product_names_updated() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO product_names AS n (tenant_id, name, shown, products)
    SELECT nr.tenant_id, lower(nr.name), min(nr.name), count(*)
      FROM new_rows nr JOIN old_rows o ON o.tenant_id = nr.tenant_id AND o.id = nr.id
     WHERE lower(o.name) <> lower(nr.name) GROUP BY 1, 2
    ON CONFLICT (tenant_id, name) DO UPDATE SET products = n.products + EXCLUDED.products;
  UPDATE product_names n SET products = n.products - c.products
    FROM (SELECT o.tenant_id, lower(o.name) AS name, count(*) AS products
            FROM old_rows o JOIN new_rows nr ON nr.tenant_id = o.tenant_id AND nr.id = o.id
           WHERE lower(o.name) <> lower(nr.name) GROUP BY 1, 2) c
   WHERE n.tenant_id = c.tenant_id AND n.name = c.name;
  DELETE FROM product_names n USING old_rows o WHERE n.tenant_id = o.tenant_id AND n.name = lower(o.name) AND n.products <= 0;
  RETURN NULL;
END $$;

CREATE TRIGGER products_names_inserted AFTER INSERT ON products REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION product_names_inserted();
CREATE TRIGGER products_names_updated AFTER UPDATE ON products REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION product_names_updated();
CREATE TRIGGER products_names_deleted AFTER DELETE ON products REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION product_names_deleted();

DROP FUNCTION closest_product_name(text);

DO $do$
DECLARE
  path text := format('%I, public, pg_temp', current_schema());
BEGIN
  EXECUTE format($f$
    CREATE FUNCTION closest_product_name(t text)
      RETURNS text
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = %s SET jit = off
    AS $body$
    DECLARE
      found text;
    BEGIN
      EXECUTE
        'SELECT n.shown FROM product_names n WHERE n.tenant_id = current_setting(''bulwark.tenant'', true) AND n.name OPERATOR(public.%%) $1
          ORDER BY public.similarity(n.name, $1) DESC, n.products DESC, n.name LIMIT 1'
        INTO found USING t;
      RETURN found;
    END $body$$f$, path);
END $do$;
