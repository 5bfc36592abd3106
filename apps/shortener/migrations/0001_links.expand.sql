-- Short links (issue 31). A code is unique across tenants (a redirect names
-- no tenant); everything else is per tenant under row-level security
-- (enable_tenant_rls, packages/db). Redirects read a link by code in the
-- system context; management routes read and write as the caller's tenant.
CREATE TABLE links (
  code text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_-]{3,32}$'),
  target_url text NOT NULL CHECK (length(target_url) <= 2048),
  owner_sub text NOT NULL,
  -- 301 (permanent, cacheable by browsers) or 302 (temporary: every click reaches us and is counted).
  redirect_status smallint NOT NULL DEFAULT 302 CHECK (redirect_status IN (301, 302)),
  custom_alias boolean NOT NULL DEFAULT false,
  expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  clicks bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
  last_accessed_at timestamptz
);
CREATE TABLE link_referrers (
  code text NOT NULL REFERENCES links (code) ON DELETE CASCADE,
  -- The referrer's origin (scheme://host), or '' for none: paths and queries may carry personal data.
  referrer text NOT NULL,
  clicks bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (code, referrer)
);

-- Events of the link and its clicks, written in the transaction of the change
-- (a flush of clicks is one transaction) and published by the outbox relay.
CREATE TABLE shortener_events_outbox (
  id bigserial PRIMARY KEY,
  event_id uuid NOT NULL UNIQUE,
  aggregate_id text NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX shortener_events_outbox_unpublished ON shortener_events_outbox (id) WHERE published_at IS NULL;

SELECT enable_tenant_rls('links', 'link_referrers', 'shortener_events_outbox');

-- "My links", newest first, keyset-paginated by (created_at, code).
CREATE INDEX links_owner_created ON links (tenant_id, owner_sub, created_at DESC, code DESC);
