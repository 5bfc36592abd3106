-- Every write to a cart counts up its revision. Checkout derives the order id
-- from the cart and its revision, so an attempt that died after orders acted
-- is finished by a retry of the same cart, while a cart changed since then
-- becomes a new order instead of finishing the old one with stale lines.
ALTER TABLE carts ADD COLUMN revision integer NOT NULL DEFAULT 0;
