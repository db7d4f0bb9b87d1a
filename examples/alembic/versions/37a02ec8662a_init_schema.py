"""init schema

Revision ID: 37a02ec8662a
Revises: 000000000001
Create Date: 2024-01-15 09:00:00

Row timestamps kept by a trigger, reporting views, lookup indexes and
catalogue comments on top of the baseline.
"""
from alembic import op
import sqlalchemy as sa

revision = "37a02ec8662a"
down_revision = "000000000001"
branch_labels = None
depends_on = None

STAMPED = (("core", "organization"), ("core", "store"), ("core", "app_user"),
           ("inv", "product"), ("pos", "customer"))


def updated_at():
    return sa.Column("updated_at", sa.TIMESTAMP(timezone=True),
                     nullable=False, server_default=sa.text("now()"))


def upgrade():
    op.execute("""
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
$$
""")
    for schema, table in STAMPED:
        op.add_column(table, updated_at(), schema=schema)
    op.add_column("store", sa.Column("phone", sa.Text), schema="core")
    op.add_column("product", sa.Column("is_weighted", sa.Boolean,
                                       nullable=False,
                                       server_default=sa.false()),
                  schema="inv")
    op.add_column("sale", sa.Column("notes", sa.Text), schema="pos")
    for schema, table in STAMPED:
        op.execute(
            "CREATE TRIGGER %s_set_updated_at BEFORE UPDATE ON %s.%s "
            "FOR EACH ROW EXECUTE FUNCTION core.set_updated_at()"
            % (table, schema, table))

    op.create_index("sale_store_created_idx", "sale",
                    ["store_id", sa.text("created_at DESC")], schema="pos")
    op.create_index("sale_open_idx", "sale", ["terminal_id"], schema="pos",
                    postgresql_where=sa.text("status = 'open'"))
    op.create_index("stock_movement_product_idx", "stock_movement",
                    ["product_id", "occurred_at"], schema="inv")
    op.create_index("journal_line_account_idx", "journal_line",
                    ["account_id"], schema="acct")
    op.create_index("app_user_last_login_idx", "app_user",
                    [sa.text("last_login_at DESC NULLS LAST")], schema="core",
                    postgresql_where=sa.text("is_active"))

    # Sales per store and business day (completed sales only).
    op.execute("""
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
 GROUP BY s.store_id, (s.completed_at AT TIME ZONE st.timezone)::date
""")
    # Stock on hand per store and product, flagged at or below reorder.
    op.execute("""
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
 WHERE p.is_active
""")
    # Trial balance over posted entries, one row per account.
    op.execute("""
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
 GROUP BY a.organization_id, a.id, a.code, a.name, a.account_type
""")

    op.execute("COMMENT ON SCHEMA core IS 'Tenants, stores, users and their "
               "roles'")
    op.execute("COMMENT ON SCHEMA acct IS 'Chart of accounts and "
               "double-entry journal'")
    op.execute("COMMENT ON SCHEMA inv IS 'Catalogue, price lists and stock'")
    op.execute("COMMENT ON SCHEMA pos IS 'Terminals, shifts, sales and "
               "payments'")
    op.create_table_comment("organization",
                            "A tenant: one company running stores",
                            schema="core")
    op.create_table_comment("store", "A physical store (sucursal física) "
                            "with its own time zone", schema="core")
    op.create_table_comment("account", "Chart of accounts; parent_id builds "
                            "the tree", schema="acct")
    op.create_table_comment("stock_movement", "Every change of stock; "
                            "stock_level is the running total", schema="inv")
    op.create_table_comment("sale", "A receipt; totals are kept in sale "
                            "currency", schema="pos")
    op.alter_column("app_user", "password_hash", schema="core",
                    comment="bcrypt hash as written by pgcrypto "
                            "crypt(password, gen_salt('bf'))")
    op.alter_column("sale", "receipt_no", schema="pos",
                    comment="Receipt number, unique per store")
    op.execute("COMMENT ON FUNCTION core.set_updated_at() IS 'Trigger "
               "function: stamps updated_at when a row really changes'")
    op.execute("COMMENT ON VIEW pos.v_daily_sales IS 'Completed sales per "
               "store and local day'")


def downgrade():
    op.alter_column("sale", "receipt_no", schema="pos", comment=None)
    op.alter_column("app_user", "password_hash", schema="core", comment=None)
    for schema, table in (("pos", "sale"), ("inv", "stock_movement"),
                          ("acct", "account"), ("core", "organization"),
                          ("core", "store")):
        op.drop_table_comment(table, schema=schema)
    for schema in ("pos", "inv", "acct", "core"):
        op.execute("COMMENT ON SCHEMA %s IS NULL" % schema)

    op.execute("DROP VIEW acct.v_trial_balance")
    op.execute("DROP VIEW inv.v_stock_on_hand")
    op.execute("DROP VIEW pos.v_daily_sales")

    op.drop_index("app_user_last_login_idx", table_name="app_user",
                  schema="core")
    op.drop_index("journal_line_account_idx", table_name="journal_line",
                  schema="acct")
    op.drop_index("stock_movement_product_idx", table_name="stock_movement",
                  schema="inv")
    op.drop_index("sale_open_idx", table_name="sale", schema="pos")
    op.drop_index("sale_store_created_idx", table_name="sale", schema="pos")

    for schema, table in reversed(STAMPED):
        op.execute("DROP TRIGGER %s_set_updated_at ON %s.%s"
                   % (table, schema, table))
    op.drop_column("sale", "notes", schema="pos")
    op.drop_column("product", "is_weighted", schema="inv")
    op.drop_column("store", "phone", schema="core")
    for schema, table in reversed(STAMPED):
        op.drop_column(table, "updated_at", schema=schema)
    op.execute("DROP FUNCTION core.set_updated_at()")
