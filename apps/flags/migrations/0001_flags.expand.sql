-- Feature flags (issue 31), all per tenant under row-level security like
-- catalog's 0001: a transaction sees its tenant's rows (tenant_isolation),
-- audited system work (the scheduler, the outbox relay) every row
-- (system_context), the reporting role reads every row (reporting).
--
-- flags: one row per flag; `environments` maps an environment name to its
-- targeting ({enabled, offVariant, rules, fallthrough}); `version` counts
-- every change of the row.
CREATE TABLE flags (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  key text NOT NULL,
  type text NOT NULL CHECK (type IN ('boolean', 'string', 'number', 'object')),
  description text NOT NULL DEFAULT '',
  variants jsonb NOT NULL,
  environments jsonb NOT NULL,
  killed boolean NOT NULL DEFAULT false,
  salt text NOT NULL,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, key)
);

CREATE TABLE segments (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  key text NOT NULL,
  description text NOT NULL DEFAULT '',
  included text[] NOT NULL DEFAULT '{}',
  excluded text[] NOT NULL DEFAULT '{}',
  clauses jsonb NOT NULL DEFAULT '[]',
  version integer NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, key)
);

-- The audit trail: every change of a flag, segment or experiment with who
-- made it and the row before and after. Its id is the tenant's snapshot
-- revision (the SSE event id): monotonic, so a provider's Last-Event-ID
-- tells whether it has missed anything. Rows are never updated or deleted.
CREATE TABLE flag_changes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  entity text NOT NULL CHECK (entity IN ('flag', 'segment', 'experiment')),
  entity_key text NOT NULL,
  action text NOT NULL,
  actor text NOT NULL,
  before jsonb,
  after jsonb,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flag_changes_entity_idx ON flag_changes (tenant_id, entity, entity_key, id DESC);
CREATE INDEX flag_changes_tenant_idx ON flag_changes (tenant_id, id DESC);

-- Changes to apply at a time: the scheduler takes due rows with SKIP LOCKED
-- (any replica), applies them as a change by `actor`, and marks them.
CREATE TABLE scheduled_changes (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  id uuid NOT NULL,
  flag_key text NOT NULL,
  apply_at timestamptz NOT NULL,
  change jsonb NOT NULL,
  actor text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'applied', 'cancelled', 'failed')),
  outcome text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, flag_key) REFERENCES flags (tenant_id, key) ON DELETE CASCADE
);
CREATE INDEX scheduled_changes_due_idx ON scheduled_changes (apply_at) WHERE status = 'pending';

-- An A/B experiment runs on a flag's rollout in one environment; `metric` is
-- the conversion event counted against its exposures.
CREATE TABLE experiments (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  key text NOT NULL,
  flag_key text NOT NULL,
  environment text NOT NULL,
  control_variant text NOT NULL,
  metric text NOT NULL,
  min_sample_per_variant integer NOT NULL,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'stopped')),
  started_at timestamptz NOT NULL DEFAULT now(),
  stopped_at timestamptz,
  PRIMARY KEY (tenant_id, key),
  FOREIGN KEY (tenant_id, flag_key) REFERENCES flags (tenant_id, key) ON DELETE CASCADE
);
CREATE UNIQUE INDEX experiments_running_flag_idx ON experiments (tenant_id, flag_key, environment) WHERE status = 'running';

-- First exposure of a targeting key wins: a key counts once, in the variant it saw first.
CREATE TABLE exposures (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  experiment text NOT NULL,
  targeting_key text NOT NULL,
  variant text NOT NULL,
  first_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, experiment, targeting_key)
);
CREATE INDEX exposures_variant_idx ON exposures (tenant_id, experiment, variant);

CREATE TABLE conversions (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  event text NOT NULL,
  targeting_key text NOT NULL,
  first_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, event, targeting_key)
);

-- flags' events (com.bulwark.flags.*), written in the transaction of the
-- change and published by the outbox relay (packages/events).
CREATE TABLE flags_events_outbox (
  id bigserial PRIMARY KEY,
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  event_id uuid NOT NULL UNIQUE,
  aggregate_id text NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX flags_events_outbox_unpublished ON flags_events_outbox (id) WHERE published_at IS NULL;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['flags', 'segments', 'flag_changes', 'scheduled_changes', 'experiments', 'exposures', 'conversions', 'flags_events_outbox'] LOOP
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (tenant_id IS NOT NULL)', t, t || '_tenant_present');
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting('bulwark.tenant', true))$f$, t);
    EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
    EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = 'bulwark_report')$f$, t);
  END LOOP;
END $$;
