-- Resumable uploads: a file larger than one part is uploaded as S3 multipart parts, each by its own
-- pre-signed PUT; upload_id names the multipart upload in the quarantine bucket until complete.
ALTER TABLE files ADD COLUMN upload_id text;
ALTER TABLE files ADD COLUMN part_bytes bigint;
