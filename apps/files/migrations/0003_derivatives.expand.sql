-- Image derivatives (thumbnails) made after a clean scan, stored beside the original under
-- <tenant>/<id>/ in the clean bucket; their names, for the derivative download route.
ALTER TABLE files ADD COLUMN derivatives text[] NOT NULL DEFAULT '{}';
