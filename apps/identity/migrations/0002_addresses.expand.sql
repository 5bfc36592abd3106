-- Saved addresses of an account: the shape orders takes (line1, city,
-- postal_code, country) plus a label; at most one default per account.
CREATE TABLE addresses (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  label text,
  line1 text NOT NULL,
  city text NOT NULL,
  postal_code text NOT NULL,
  country text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_user_idx ON addresses (user_id, created_at);
CREATE UNIQUE INDEX addresses_one_default_idx ON addresses (user_id) WHERE is_default;
