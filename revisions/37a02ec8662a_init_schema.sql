-- revision: 37a02ec8662a
-- down_revision: 000000000001
-- message: init schema
-- transactional: true

-- +upgrade
-- Row timestamps kept by a trigger, reporting views, lookup indexes and
-- catalogue comments on top of the baseline.

CREATE FUNCTION core.set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    -- Only a real change moves the timestamp, so replays stay quiet.
    IF ROW(NEW.*) IS DISTINCT FROM ROW(OLD.*) THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$;

ALTER TABLE core.organization
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE core.store
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN phone text;
ALTER TABLE core.app_user
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE inv.product
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN is_weighted boolean NOT NULL DEFAULT false;
ALTER TABLE pos.customer
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE pos.sale
    ADD COLUMN notes text;

CREATE TRIGGER organization_set_updated_at
    BEFORE UPDATE ON core.organization
    FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();
CREATE TRIGGER store_set_updated_at
    BEFORE UPDATE ON core.store
    FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();
CREATE TRIGGER app_user_set_updated_at
    BEFORE UPDATE ON core.app_user
    FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();
CREATE TRIGGER product_set_updated_at
    BEFORE UPDATE ON inv.product
    FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();
CREATE TRIGGER customer_set_updated_at
    BEFORE UPDATE ON pos.customer
    FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

CREATE INDEX sale_store_created_idx ON pos.sale (store_id, created_at DESC);
CREATE INDEX sale_open_idx ON pos.sale (terminal_id) WHERE status = 'open';
CREATE INDEX stock_movement_product_idx
    ON inv.stock_movement (product_id, occurred_at);
CREATE INDEX journal_line_account_idx ON acct.journal_line (account_id);
CREATE INDEX app_user_last_login_idx
    ON core.app_user (last_login_at DESC NULLS LAST) WHERE is_active;

-- Sales per store and business day (completed sales only).
CREATE VIEW pos.v_daily_sales AS
SELECT s.store_id,
       (s.completed_at AT TIME ZONE st.timezone)::date AS business_day,
       count(*) AS sales,
       sum(s.subtotal) AS subtotal,
       sum(s.discount_total) AS discount_total,
       sum(s.tax_total) AS tax_total,
       sum(s.total) AS total
  FROM pos.sale s
  JOIN core.store st ON st.id = s.store_id
 WHERE s.status = 'completed'
 GROUP BY s.store_id, (s.completed_at AT TIME ZONE st.timezone)::date;

-- Stock on hand per store and product, flagged when at or below reorder.
CREATE VIEW inv.v_stock_on_hand AS
SELECT sl.store_id,
       p.id AS product_id,
       p.sku,
       p.name,
       sl.on_hand,
       sl.reserved,
       sl.on_hand - sl.reserved AS available,
       sl.reorder_point,
       coalesce(sl.on_hand - sl.reserved <= sl.reorder_point, false)
           AS needs_reorder
  FROM inv.stock_level sl
  JOIN inv.product p ON p.id = sl.product_id
 WHERE p.is_active;

-- Trial balance over posted entries, one row per account.
CREATE VIEW acct.v_trial_balance AS
SELECT a.organization_id,
       a.id AS account_id,
       a.code,
       a.name,
       a.account_type,
       coalesce(sum(l.debit), 0)::numeric(14,2) AS debit,
       coalesce(sum(l.credit), 0)::numeric(14,2) AS credit,
       (coalesce(sum(l.debit), 0) - coalesce(sum(l.credit), 0))::numeric(14,2)
           AS balance
  FROM acct.account a
  LEFT JOIN acct.journal_line l ON l.account_id = a.id
       AND EXISTS (SELECT 1 FROM acct.journal_entry e
                    WHERE e.id = l.entry_id AND e.status = 'posted')
 GROUP BY a.organization_id, a.id, a.code, a.name, a.account_type;

COMMENT ON SCHEMA core IS 'Tenants, stores, users and their roles';
COMMENT ON SCHEMA acct IS 'Chart of accounts and double-entry journal';
COMMENT ON SCHEMA inv IS 'Catalogue, price lists and stock';
COMMENT ON SCHEMA pos IS 'Terminals, shifts, sales and payments';
COMMENT ON TABLE core.organization IS 'A tenant: one company running stores';
COMMENT ON TABLE core.store IS
    'A physical store (sucursal física) with its own time zone';
COMMENT ON TABLE acct.account IS 'Chart of accounts; parent_id builds the tree';
COMMENT ON TABLE inv.stock_movement IS
    'Every change of stock; stock_level is the running total';
COMMENT ON TABLE pos.sale IS 'A receipt; totals are kept in sale currency';
COMMENT ON COLUMN core.app_user.password_hash IS
    'bcrypt hash as written by pgcrypto crypt(password, gen_salt(''bf''))';
COMMENT ON COLUMN pos.sale.receipt_no IS 'Receipt number, unique per store';
COMMENT ON FUNCTION core.set_updated_at() IS
    'Trigger function: stamps updated_at when a row really changes';
COMMENT ON VIEW pos.v_daily_sales IS 'Completed sales per store and local day';

-- +downgrade
COMMENT ON COLUMN pos.sale.receipt_no IS NULL;
COMMENT ON COLUMN core.app_user.password_hash IS NULL;
COMMENT ON TABLE pos.sale IS NULL;
COMMENT ON TABLE inv.stock_movement IS NULL;
COMMENT ON TABLE acct.account IS NULL;
COMMENT ON TABLE core.organization IS NULL;
COMMENT ON TABLE core.store IS NULL;
COMMENT ON SCHEMA pos IS NULL;
COMMENT ON SCHEMA inv IS NULL;
COMMENT ON SCHEMA acct IS NULL;
COMMENT ON SCHEMA core IS NULL;

DROP VIEW acct.v_trial_balance;
DROP VIEW inv.v_stock_on_hand;
DROP VIEW pos.v_daily_sales;

DROP INDEX core.app_user_last_login_idx;
DROP INDEX acct.journal_line_account_idx;
DROP INDEX inv.stock_movement_product_idx;
DROP INDEX pos.sale_open_idx;
DROP INDEX pos.sale_store_created_idx;

DROP TRIGGER customer_set_updated_at ON pos.customer;
DROP TRIGGER product_set_updated_at ON inv.product;
DROP TRIGGER app_user_set_updated_at ON core.app_user;
DROP TRIGGER store_set_updated_at ON core.store;
DROP TRIGGER organization_set_updated_at ON core.organization;

ALTER TABLE pos.sale DROP COLUMN notes;
ALTER TABLE pos.customer DROP COLUMN updated_at;
ALTER TABLE inv.product
    DROP COLUMN is_weighted,
    DROP COLUMN updated_at;
ALTER TABLE core.app_user DROP COLUMN updated_at;
ALTER TABLE core.store
    DROP COLUMN phone,
    DROP COLUMN updated_at;
ALTER TABLE core.organization DROP COLUMN updated_at;

DROP FUNCTION core.set_updated_at();
