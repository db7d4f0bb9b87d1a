"""template sanity test

Revision ID: 853113448960
Revises: 37a02ec8662a
Create Date: 2024-01-22 09:00:00

Stop the chain here when the database does not hold the schema the seed
data and the applications expect (a store database built from an old
template, a half-restored dump). Changes nothing.
"""
from alembic import op

revision = "853113448960"
down_revision = "37a02ec8662a"
branch_labels = None
depends_on = None

SANITY_CHECK = r"""
DO $sanity$
DECLARE
    missing text[] := '{}';
    obj    text;
    want    text[];
    have    text[];
BEGIN
    FOREACH obj IN ARRAY ARRAY['pgcrypto', 'citext'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension
                        WHERE extname = obj) THEN
            missing := missing || ('extension ' || obj);
        END IF;
    END LOOP;

    FOREACH obj IN ARRAY ARRAY['core', 'acct', 'inv', 'pos'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace
                        WHERE nspname = obj) THEN
            missing := missing || ('schema ' || obj);
        END IF;
    END LOOP;

    FOREACH obj IN ARRAY ARRAY[
        'core.organization', 'core.store', 'core.app_user', 'core.role',
        'core.organization_member', 'core.store_member', 'core.audit_log',
        'acct.account', 'acct.fiscal_period', 'acct.journal_entry',
        'acct.journal_line',
        'inv.category', 'inv.supplier', 'inv.product', 'inv.price_list',
        'inv.price_list_item', 'inv.stock_level', 'inv.stock_movement',
        'pos.terminal', 'pos.shift', 'pos.customer', 'pos.sale',
        'pos.sale_line', 'pos.payment'] LOOP
        IF NOT EXISTS (SELECT 1 FROM information_schema.tables t
                        WHERE t.table_schema || '.' || t.table_name = obj
                          AND t.table_type = 'BASE TABLE') THEN
            missing := missing || ('table ' || obj);
        END IF;
    END LOOP;

    FOREACH obj IN ARRAY ARRAY[
        'pos.v_daily_sales', 'inv.v_stock_on_hand', 'acct.v_trial_balance'] LOOP
        IF NOT EXISTS (SELECT 1 FROM information_schema.views v
                        WHERE v.table_schema || '.' || v.table_name = obj) THEN
            missing := missing || ('view ' || obj);
        END IF;
    END LOOP;

    -- Enums with their labels in order: a reordered or shortened enum is as
    -- wrong as a missing one.
    FOREACH obj IN ARRAY ARRAY[
        'core.user_role', 'acct.account_type', 'acct.entry_status',
        'inv.movement_kind', 'pos.sale_status', 'pos.payment_method',
        'pos.shift_status'] LOOP
        want := CASE obj
            WHEN 'core.user_role' THEN
                ARRAY['owner', 'admin', 'manager', 'cashier', 'auditor']
            WHEN 'acct.account_type' THEN
                ARRAY['asset', 'liability', 'equity', 'revenue', 'expense']
            WHEN 'acct.entry_status' THEN ARRAY['draft', 'posted', 'void']
            WHEN 'inv.movement_kind' THEN
                ARRAY['purchase', 'sale', 'return', 'adjustment',
                      'transfer_in', 'transfer_out', 'count']
            WHEN 'pos.sale_status' THEN
                ARRAY['open', 'completed', 'voided', 'refunded']
            WHEN 'pos.payment_method' THEN
                ARRAY['cash', 'card', 'transfer', 'voucher', 'store_credit']
            WHEN 'pos.shift_status' THEN ARRAY['open', 'closed']
        END;
        SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
          INTO have
          FROM pg_catalog.pg_type t
          JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
          JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid
         WHERE n.nspname || '.' || t.typname = obj;
        IF have IS NULL THEN
            missing := missing || ('enum ' || obj);
        ELSIF have IS DISTINCT FROM want THEN
            missing := missing || format('enum %s with labels %s (has %s)',
                                         obj, want, have);
        END IF;
    END LOOP;

    IF to_regprocedure('core.set_updated_at()') IS NULL THEN
        missing := missing || 'function core.set_updated_at()'::text;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger
                    WHERE tgrelid = to_regclass('core.app_user')
                      AND tgname = 'app_user_set_updated_at') THEN
        missing := missing || 'trigger app_user_set_updated_at'::text;
    END IF;

    IF (SELECT format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute
         WHERE attrelid = to_regclass('pos.sale') AND attname = 'total')
       IS DISTINCT FROM 'numeric(12,2)' THEN
        missing := missing || 'column pos.sale.total numeric(12,2)'::text;
    END IF;

    IF cardinality(missing) > 0 THEN
        RAISE EXCEPTION 'template sanity test failed: % missing',
                        array_to_string(missing, ', ')
              USING HINT = 'the database was not built by revisions '
                           '000000000001 and 37a02ec8662a';
    END IF;
END
$sanity$
"""


def upgrade():
    op.execute(SANITY_CHECK)


def downgrade():
    # The upgrade changed nothing. Say so with a statement rather than
    # `pass`: sqlbundle import treats a downgrade that renders nothing as
    # irreversible, and this one is reversible.
    op.execute("SELECT 1")
