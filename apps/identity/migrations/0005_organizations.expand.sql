-- Organisations are the tenants. An account belongs to one organisation
-- (email unique per tenant), so its membership is the account itself and
-- its role in the organisation is org_role: owner and admin manage members
-- and invitations, member does not. Accounts that have the platform admin
-- roles start as their organisation's admins.
ALTER TABLE users ADD COLUMN org_role text NOT NULL DEFAULT 'member' CHECK (org_role IN ('owner', 'admin', 'member'));
UPDATE users SET org_role = 'admin' WHERE 'admin' = ANY (roles);

-- An invitation by email into an organisation with a role. The token is
-- emailed through notifications; only its SHA-256 is kept; it works once
-- (accepted_at) and never after expires_at. A new invitation to the same
-- address revokes the pending one, so at most one is pending.
CREATE TABLE invitations (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  email text NOT NULL,
  org_role text NOT NULL CHECK (org_role IN ('owner', 'admin', 'member')),
  token_hash bytea NOT NULL UNIQUE,
  invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invitations_tenant_idx ON invitations (tenant_id, created_at);
CREATE UNIQUE INDEX invitations_one_pending_idx ON invitations (tenant_id, email) WHERE accepted_at IS NULL AND revoked_at IS NULL;
