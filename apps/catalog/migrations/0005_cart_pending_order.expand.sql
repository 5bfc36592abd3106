-- The order a checkout in progress makes, committed before orders is called:
-- while it is set the cart takes no edits, and every retry (with any
-- Idempotency-Key) finishes that order; checked out or refused clears it.
ALTER TABLE carts ADD COLUMN pending_order text;
