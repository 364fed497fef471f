-- The configuration of generic `hmac` sources (header, algorithm, encoding, …) as JSON.
ALTER TABLE sources ADD COLUMN hmac TEXT;
