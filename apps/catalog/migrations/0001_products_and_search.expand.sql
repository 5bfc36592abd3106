-- Products, their category tree, variants and the search vocabulary, all per
-- tenant under row-level security (like inventory's 0003): a transaction sees
-- its tenant's rows (tenant_isolation), audited system work every row
-- (system_context), the reporting role reads every row (reporting). FORCE:
-- the owner is bound too, so the seed runs as its tenant.
--
-- pg_trgm (trigram similarity) and fuzzystrmatch (levenshtein) live in
-- `public`, database-wide: a service schema dropped with CASCADE (tests) must
-- not take them along. Queries name them schema-qualified.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch WITH SCHEMA public;

-- `path` is the slugs from the root joined by '/': a subtree is `path = p OR path LIKE p || '/%'`.
CREATE TABLE categories (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  slug text NOT NULL,
  name text NOT NULL,
  parent_slug text,
  path text NOT NULL,
  PRIMARY KEY (tenant_id, slug),
  FOREIGN KEY (tenant_id, parent_slug) REFERENCES categories (tenant_id, slug)
);
CREATE INDEX categories_path_idx ON categories (tenant_id, path text_pattern_ops);

-- `search` is the weighted document (A name, B brand and tags, D description),
-- written by the store with the row; price_min/price_max summarise the variants
-- for sorting.
CREATE TABLE products (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  id uuid NOT NULL,
  slug text NOT NULL,
  name text NOT NULL,
  brand text NOT NULL,
  description text NOT NULL DEFAULT '',
  category_slug text NOT NULL,
  tags text[] NOT NULL DEFAULT '{}',
  images text[] NOT NULL DEFAULT '{}',
  popularity integer NOT NULL DEFAULT 0,
  price_min bigint NOT NULL,
  price_max bigint NOT NULL,
  search tsvector NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, slug),
  FOREIGN KEY (tenant_id, category_slug) REFERENCES categories (tenant_id, slug)
);
CREATE INDEX products_search_idx ON products USING gin (search);
CREATE INDEX products_name_trgm_idx ON products USING gin (lower(name) public.gin_trgm_ops);
CREATE INDEX products_category_idx ON products (tenant_id, category_slug);

CREATE TABLE variants (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  sku text NOT NULL,
  product_id uuid NOT NULL,
  attributes jsonb NOT NULL DEFAULT '{}',
  price_minor bigint NOT NULL CHECK (price_minor >= 0),
  currency char(3) NOT NULL,
  position integer NOT NULL,
  PRIMARY KEY (tenant_id, sku),
  FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX variants_product_idx ON variants (tenant_id, product_id);
CREATE INDEX variants_price_idx ON variants (tenant_id, price_minor);

-- The words of names, brands and tags with the number of products using each:
-- typo correction and autocomplete pick among them (df > 0).
CREATE TABLE search_terms (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  term text NOT NULL,
  df integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, term)
);
CREATE INDEX search_terms_prefix_idx ON search_terms (tenant_id, term text_pattern_ops);
CREATE INDEX search_terms_trgm_idx ON search_terms USING gin (term public.gin_trgm_ops);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['categories', 'products', 'variants', 'search_terms'] LOOP
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (tenant_id IS NOT NULL)', t, t || '_tenant_present');
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting('bulwark.tenant', true))$f$, t);
    EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
    EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = 'bulwark_report')$f$, t);
  END LOOP;
END $$;
