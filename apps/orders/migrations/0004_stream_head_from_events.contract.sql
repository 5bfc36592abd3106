-- The stream's version is now the highest version of its events (read through
-- events_stream_version_unique); appends no longer move a head row. `streams`
-- stays as the registry of streams and their type, written once per stream.
-- Contract: run once no instance of the code that wrote streams.version is left.
ALTER TABLE streams DROP COLUMN version, DROP COLUMN updated_at;
ALTER TABLE streams ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
