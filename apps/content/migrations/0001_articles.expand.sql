-- Articles (issue 32): per tenant under row-level security (enable_tenant_rls,
-- packages/db). An article's current text is on the row; every saved text is a
-- revision. Status: draft → (submit) → in_review when a rule flags it, else
-- scheduled (publish_at in the future) or published; a moderator approves
-- (scheduled or published) or rejects (rejected, with a reason the author sees).
-- array_to_string is only STABLE (it may call output functions of any type); for text[] it is immutable.
CREATE FUNCTION tags_text(tags text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string(tags, ' ') $$;

CREATE TABLE articles (
  id uuid PRIMARY KEY,
  slug text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 120),
  author_sub text NOT NULL,
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  body text NOT NULL CHECK (length(body) <= 200000),
  tags text[] NOT NULL DEFAULT '{}',
  media jsonb NOT NULL DEFAULT '[]',
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'in_review', 'scheduled', 'published', 'rejected')),
  revision integer NOT NULL DEFAULT 1,
  publish_at timestamptz,
  published_at timestamptz,
  moderation_flags text[] NOT NULL DEFAULT '{}',
  moderation_reason text,
  moderated_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- Weighted as catalog weighs products: title A, tags B, body D.
  search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', tags_text(tags)), 'B') || setweight(to_tsvector('simple', left(body, 100000)), 'D')
  ) STORED
);
CREATE TABLE article_revisions (
  article_id uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
  revision integer NOT NULL,
  author_sub text NOT NULL,
  title text NOT NULL,
  body text NOT NULL,
  tags text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (article_id, revision)
);
CREATE TABLE content_events_outbox (
  id bigserial PRIMARY KEY,
  event_id uuid NOT NULL UNIQUE,
  aggregate_id text NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX content_events_outbox_unpublished ON content_events_outbox (id) WHERE published_at IS NULL;

SELECT enable_tenant_rls('articles', 'article_revisions', 'content_events_outbox');

CREATE UNIQUE INDEX articles_slug ON articles (tenant_id, slug);
CREATE INDEX articles_search ON articles USING gin (search) WHERE status = 'published';
CREATE INDEX articles_queue ON articles (tenant_id, updated_at) WHERE status = 'in_review';
CREATE INDEX articles_due ON articles (publish_at) WHERE status = 'scheduled';
CREATE INDEX articles_published ON articles (tenant_id, published_at DESC) WHERE status = 'published';
