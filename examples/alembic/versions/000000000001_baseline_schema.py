"""baseline schema collapse

Revision ID: 000000000001
Revises:
Create Date: 2024-01-10 09:00:00

Everything the store backend had before the chain started, collapsed into
one step. Schemas: core (tenants, stores, users), acct (chart of accounts,
journal), inv (catalogue, prices, stock) and pos (terminals, shifts, sales,
payments).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

revision = "000000000001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMAS = ("core", "acct", "inv", "pos")
ENUMS = {
    "core.user_role": ("owner", "admin", "manager", "cashier", "auditor"),
    "acct.account_type": ("asset", "liability", "equity", "revenue",
                          "expense"),
    "acct.entry_status": ("draft", "posted", "void"),
    "inv.movement_kind": ("purchase", "sale", "return", "adjustment",
                          "transfer_in", "transfer_out", "count"),
    "pos.sale_status": ("open", "completed", "voided", "refunded"),
    "pos.payment_method": ("cash", "card", "transfer", "voucher",
                           "store_credit"),
    "pos.shift_status": ("open", "closed"),
}


def enum(qualified):
    schema, name = qualified.split(".")
    return pg.ENUM(*ENUMS[qualified], name=name, schema=schema,
                   create_type=False)


def uuid_pk():
    return sa.Column("id", pg.UUID, primary_key=True,
                     server_default=sa.text("gen_random_uuid()"))


def int_pk():
    return sa.Column("id", sa.Integer, sa.Identity(always=False),
                     primary_key=True)


def bigint_pk():
    return sa.Column("id", sa.BigInteger, sa.Identity(always=True),
                     primary_key=True)


def org_fk(ondelete=None):
    return sa.Column("organization_id", pg.UUID,
                     sa.ForeignKey("core.organization.id", ondelete=ondelete),
                     nullable=False)


def created_at(name="created_at"):
    return sa.Column(name, sa.TIMESTAMP(timezone=True), nullable=False,
                     server_default=sa.text("now()"))


def jsonb(name, default="'{}'::jsonb", nullable=False):
    return sa.Column(name, pg.JSONB, nullable=nullable,
                     server_default=sa.text(default) if default else None)


def money(name, nullable=False, default=None):
    return sa.Column(name, sa.Numeric(12, 2), nullable=nullable,
                     server_default=sa.text(default) if default else None)


def qty(name, nullable=False, default=None):
    return sa.Column(name, sa.Numeric(12, 3), nullable=nullable,
                     server_default=sa.text(default) if default else None)


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public")
    op.execute("CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public")
    for schema in SCHEMAS:
        op.execute("CREATE SCHEMA %s" % schema)
    for qualified in ENUMS:
        enum(qualified).create(op.get_bind(), checkfirst=False)

    # core ------------------------------------------------------------------
    op.create_table(
        "organization", uuid_pk(),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("legal_name", sa.Text, nullable=False),
        sa.Column("tax_id", sa.Text),
        sa.Column("currency", sa.CHAR(3), nullable=False,
                  server_default="USD"),
        jsonb("settings"),
        sa.Column("is_active", sa.Boolean, nullable=False,
                  server_default=sa.true()),
        created_at(),
        sa.UniqueConstraint("code", name="organization_code_key"),
        sa.CheckConstraint("code ~ '^[A-Z0-9_-]{2,32}$'",
                           name="organization_code_check"),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'",
                           name="organization_currency_check"),
        sa.CheckConstraint("jsonb_typeof(settings) = 'object'",
                           name="organization_settings_check"),
        schema="core")
    op.create_table(
        "store", uuid_pk(), org_fk("RESTRICT"),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        jsonb("address"),
        sa.Column("timezone", sa.Text, nullable=False, server_default="UTC"),
        sa.Column("opened_on", sa.Date),
        sa.Column("closed_on", sa.Date),
        created_at(),
        sa.UniqueConstraint("organization_id", "code",
                            name="store_organization_code_key"),
        sa.CheckConstraint("closed_on IS NULL OR opened_on IS NULL OR "
                           "closed_on >= opened_on", name="store_dates_check"),
        schema="core")
    op.create_table(
        "app_user", uuid_pk(),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("full_name", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False,
                  server_default=sa.true()),
        jsonb("preferences"),
        sa.Column("last_login_at", sa.TIMESTAMP(timezone=True)),
        created_at(),
        sa.UniqueConstraint("email", name="app_user_email_key"),
        sa.CheckConstraint("email ~ '^[^@[:space:]]+@[^@[:space:]]+$'",
                           name="app_user_email_check"),
        sa.CheckConstraint(r"password_hash ~ '^\$2[abxy]?\$[0-9]{2}\$'",
                           name="app_user_password_hash_check"),
        schema="core")
    # citext has no SQLAlchemy type of its own: the column changes type here
    op.execute("ALTER TABLE core.app_user ALTER COLUMN email TYPE citext")
    op.create_table(
        "role", int_pk(), org_fk("CASCADE"),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("base_role", enum("core.user_role"), nullable=False),
        jsonb("permissions", "'[]'::jsonb"),
        created_at(),
        sa.UniqueConstraint("organization_id", "name",
                            name="role_organization_name_key"),
        sa.CheckConstraint("jsonb_typeof(permissions) = 'array'",
                           name="role_permissions_check"),
        schema="core")
    op.create_table(
        "organization_member",
        sa.Column("organization_id", pg.UUID,
                  sa.ForeignKey("core.organization.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user_id", pg.UUID,
                  sa.ForeignKey("core.app_user.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("role_id", sa.Integer, sa.ForeignKey("core.role.id"),
                  nullable=False),
        created_at("joined_at"),
        schema="core")
    op.create_table(
        "store_member",
        sa.Column("store_id", pg.UUID,
                  sa.ForeignKey("core.store.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user_id", pg.UUID,
                  sa.ForeignKey("core.app_user.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("is_default", sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column("pin_hash", sa.Text),
        created_at("granted_at"),
        schema="core")
    # A user has at most one default store.
    op.create_index("store_member_default_idx", "store_member", ["user_id"],
                    unique=True, schema="core",
                    postgresql_where=sa.text("is_default"))
    op.create_table(
        "audit_log", bigint_pk(),
        sa.Column("organization_id", pg.UUID,
                  sa.ForeignKey("core.organization.id"), nullable=False),
        sa.Column("user_id", pg.UUID,
                  sa.ForeignKey("core.app_user.id", ondelete="SET NULL")),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("entity_id", sa.Text),
        jsonb("payload"),
        created_at("occurred_at"),
        schema="core")
    op.create_index("audit_log_entity_idx", "audit_log",
                    ["organization_id", "entity", "entity_id"], schema="core")

    # acct ------------------------------------------------------------------
    op.create_table(
        "account", int_pk(), org_fk("RESTRICT"),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("acct.account.id")),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("account_type", enum("acct.account_type"), nullable=False),
        sa.Column("is_postable", sa.Boolean, nullable=False,
                  server_default=sa.true()),
        sa.Column("currency", sa.CHAR(3)),
        created_at(),
        sa.UniqueConstraint("organization_id", "code",
                            name="account_organization_code_key"),
        sa.CheckConstraint(r"code ~ '^[0-9]{1,4}(\.[0-9]{1,4})*$'",
                           name="account_code_check"),
        sa.CheckConstraint("parent_id <> id", name="account_parent_check"),
        schema="acct")
    op.create_index("account_parent_idx", "account", ["parent_id"],
                    schema="acct")
    op.create_table(
        "fiscal_period", int_pk(), org_fk("CASCADE"),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("closed_at", sa.TIMESTAMP(timezone=True)),
        sa.UniqueConstraint("organization_id", "starts_on",
                            name="fiscal_period_organization_starts_key"),
        sa.CheckConstraint("ends_on > starts_on",
                           name="fiscal_period_dates_check"),
        schema="acct")
    op.create_table(
        "journal_entry", bigint_pk(),
        sa.Column("organization_id", pg.UUID,
                  sa.ForeignKey("core.organization.id"), nullable=False),
        sa.Column("store_id", pg.UUID, sa.ForeignKey("core.store.id")),
        sa.Column("period_id", sa.Integer,
                  sa.ForeignKey("acct.fiscal_period.id")),
        sa.Column("entry_no", sa.BigInteger, nullable=False),
        sa.Column("status", enum("acct.entry_status"), nullable=False,
                  server_default="draft"),
        sa.Column("entry_date", sa.Date, nullable=False,
                  server_default=sa.text("CURRENT_DATE")),
        sa.Column("memo", sa.Text),
        jsonb("source", default=None, nullable=True),
        sa.Column("created_by", pg.UUID,
                  sa.ForeignKey("core.app_user.id", ondelete="SET NULL")),
        created_at(),
        sa.Column("posted_at", sa.TIMESTAMP(timezone=True)),
        sa.UniqueConstraint("organization_id", "entry_no",
                            name="journal_entry_organization_no_key"),
        sa.CheckConstraint("(status = 'posted') = (posted_at IS NOT NULL) "
                           "OR status = 'void'",
                           name="journal_entry_posted_check"),
        schema="acct")
    op.create_table(
        "journal_line", bigint_pk(),
        sa.Column("entry_id", sa.BigInteger,
                  sa.ForeignKey("acct.journal_entry.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("line_no", sa.SmallInteger, nullable=False),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("acct.account.id"),
                  nullable=False),
        money("debit", default="0"),
        money("credit", default="0"),
        sa.Column("memo", sa.Text),
        sa.UniqueConstraint("entry_id", "line_no",
                            name="journal_line_entry_line_key"),
        sa.CheckConstraint("debit >= 0 AND credit >= 0 AND "
                           "(debit = 0) <> (credit = 0)",
                           name="journal_line_amount_check"),
        schema="acct")

    # inv -------------------------------------------------------------------
    op.create_table(
        "category", int_pk(), org_fk("CASCADE"),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("inv.category.id")),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("slug", sa.Text, nullable=False),
        sa.Column("sort_order", sa.Integer, nullable=False,
                  server_default="0"),
        sa.UniqueConstraint("organization_id", "slug",
                            name="category_organization_slug_key"),
        sa.CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'",
                           name="category_slug_check"),
        schema="inv")
    op.create_table(
        "supplier", uuid_pk(), org_fk("CASCADE"),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("tax_id", sa.Text),
        sa.Column("email", sa.Text),
        jsonb("contact"),
        created_at(),
        schema="inv")
    op.execute("ALTER TABLE inv.supplier ALTER COLUMN email TYPE citext")
    op.create_index("supplier_organization_tax_id_idx", "supplier",
                    ["organization_id", "tax_id"], unique=True, schema="inv",
                    postgresql_where=sa.text("tax_id IS NOT NULL"))
    op.create_table(
        "product", uuid_pk(), org_fk("RESTRICT"),
        sa.Column("category_id", sa.Integer,
                  sa.ForeignKey("inv.category.id", ondelete="SET NULL")),
        sa.Column("supplier_id", pg.UUID,
                  sa.ForeignKey("inv.supplier.id", ondelete="SET NULL")),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("barcode", sa.Text),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("unit", sa.Text, nullable=False, server_default="unit"),
        sa.Column("tax_rate", sa.Numeric(5, 4), nullable=False,
                  server_default="0"),
        money("cost", nullable=True),
        sa.Column("is_active", sa.Boolean, nullable=False,
                  server_default=sa.true()),
        jsonb("attributes"),
        created_at(),
        sa.UniqueConstraint("organization_id", "sku",
                            name="product_organization_sku_key"),
        sa.CheckConstraint("tax_rate >= 0 AND tax_rate < 1",
                           name="product_tax_rate_check"),
        sa.CheckConstraint("cost IS NULL OR cost >= 0",
                           name="product_cost_check"),
        sa.CheckConstraint("barcode ~ '^[0-9]{8,14}$'",
                           name="product_barcode_check"),
        schema="inv")
    # Barcodes are unique per organization when present (partial index);
    # name search is case-insensitive (expression index).
    op.create_index("product_organization_barcode_idx", "product",
                    ["organization_id", "barcode"], unique=True, schema="inv",
                    postgresql_where=sa.text("barcode IS NOT NULL"))
    op.create_index("product_name_lower_idx", "product",
                    [sa.text("lower(name)")], schema="inv")
    op.create_index("product_attributes_idx", "product", ["attributes"],
                    schema="inv", postgresql_using="gin")
    op.create_table(
        "price_list", int_pk(), org_fk("CASCADE"),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False,
                  server_default="USD"),
        sa.Column("is_default", sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_to", sa.Date),
        sa.UniqueConstraint("organization_id", "name",
                            name="price_list_organization_name_key"),
        sa.CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR "
                           "valid_to >= valid_from",
                           name="price_list_validity_check"),
        schema="inv")
    # One default price list per organization.
    op.create_index("price_list_default_idx", "price_list",
                    ["organization_id"], unique=True, schema="inv",
                    postgresql_where=sa.text("is_default"))
    op.create_table(
        "price_list_item",
        sa.Column("price_list_id", sa.Integer,
                  sa.ForeignKey("inv.price_list.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("product_id", pg.UUID,
                  sa.ForeignKey("inv.product.id", ondelete="CASCADE"),
                  nullable=False),
        qty("min_qty", default="1"),
        money("unit_price"),
        sa.PrimaryKeyConstraint("price_list_id", "product_id", "min_qty"),
        sa.CheckConstraint("unit_price >= 0",
                           name="price_list_item_price_check"),
        sa.CheckConstraint("min_qty > 0", name="price_list_item_qty_check"),
        schema="inv")
    op.create_table(
        "stock_level",
        sa.Column("store_id", pg.UUID,
                  sa.ForeignKey("core.store.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("product_id", pg.UUID,
                  sa.ForeignKey("inv.product.id", ondelete="CASCADE"),
                  primary_key=True),
        qty("on_hand", default="0"),
        qty("reserved", default="0"),
        qty("reorder_point", nullable=True),
        sa.Column("counted_at", sa.TIMESTAMP(timezone=True)),
        sa.CheckConstraint("reserved >= 0", name="stock_level_reserved_check"),
        schema="inv")
    op.create_table(
        "stock_movement", bigint_pk(),
        sa.Column("store_id", pg.UUID, sa.ForeignKey("core.store.id"),
                  nullable=False),
        sa.Column("product_id", pg.UUID, sa.ForeignKey("inv.product.id"),
                  nullable=False),
        sa.Column("kind", enum("inv.movement_kind"), nullable=False),
        qty("quantity"),
        money("unit_cost", nullable=True),
        sa.Column("sale_id", pg.UUID),
        jsonb("reference", default=None, nullable=True),
        sa.Column("created_by", pg.UUID,
                  sa.ForeignKey("core.app_user.id", ondelete="SET NULL")),
        created_at("occurred_at"),
        sa.CheckConstraint("quantity <> 0",
                           name="stock_movement_quantity_check"),
        sa.CheckConstraint("sale_id IS NULL OR kind IN ('sale', 'return')",
                           name="stock_movement_sale_check"),
        schema="inv")

    # pos -------------------------------------------------------------------
    op.create_table(
        "terminal", uuid_pk(),
        sa.Column("store_id", pg.UUID,
                  sa.ForeignKey("core.store.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        jsonb("hardware"),
        sa.Column("is_active", sa.Boolean, nullable=False,
                  server_default=sa.true()),
        created_at("registered_at"),
        sa.UniqueConstraint("store_id", "code",
                            name="terminal_store_code_key"),
        schema="pos")
    op.create_table(
        "shift", bigint_pk(),
        sa.Column("terminal_id", pg.UUID, sa.ForeignKey("pos.terminal.id"),
                  nullable=False),
        sa.Column("cashier_id", pg.UUID, sa.ForeignKey("core.app_user.id"),
                  nullable=False),
        sa.Column("status", enum("pos.shift_status"), nullable=False,
                  server_default="open"),
        money("opening_float", default="0"),
        money("closing_count", nullable=True),
        created_at("opened_at"),
        sa.Column("closed_at", sa.TIMESTAMP(timezone=True)),
        sa.CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)",
                           name="shift_closed_check"),
        sa.CheckConstraint("closed_at IS NULL OR closed_at >= opened_at",
                           name="shift_dates_check"),
        schema="pos")
    # At most one open shift per terminal.
    op.create_index("shift_open_terminal_idx", "shift", ["terminal_id"],
                    unique=True, schema="pos",
                    postgresql_where=sa.text("status = 'open'"))
    op.create_table(
        "customer", uuid_pk(), org_fk("CASCADE"),
        sa.Column("full_name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("tax_id", sa.Text),
        jsonb("loyalty", """'{"points": 0}'::jsonb"""),
        created_at(),
        schema="pos")
    op.execute("ALTER TABLE pos.customer ALTER COLUMN email TYPE citext")
    op.create_index("customer_organization_email_idx", "customer",
                    ["organization_id", "email"], unique=True, schema="pos",
                    postgresql_where=sa.text("email IS NOT NULL"))
    op.create_table(
        "sale", uuid_pk(),
        sa.Column("store_id", pg.UUID, sa.ForeignKey("core.store.id"),
                  nullable=False),
        sa.Column("terminal_id", pg.UUID, sa.ForeignKey("pos.terminal.id"),
                  nullable=False),
        sa.Column("shift_id", sa.BigInteger, sa.ForeignKey("pos.shift.id")),
        sa.Column("customer_id", pg.UUID,
                  sa.ForeignKey("pos.customer.id", ondelete="SET NULL")),
        sa.Column("cashier_id", pg.UUID, sa.ForeignKey("core.app_user.id"),
                  nullable=False),
        sa.Column("journal_entry_id", sa.BigInteger,
                  sa.ForeignKey("acct.journal_entry.id")),
        sa.Column("receipt_no", sa.BigInteger, nullable=False),
        sa.Column("status", enum("pos.sale_status"), nullable=False,
                  server_default="open"),
        money("subtotal", default="0"),
        money("discount_total", default="0"),
        money("tax_total", default="0"),
        money("total", default="0"),
        created_at(),
        sa.Column("completed_at", sa.TIMESTAMP(timezone=True)),
        sa.UniqueConstraint("store_id", "receipt_no",
                            name="sale_store_receipt_key"),
        sa.CheckConstraint("total = subtotal - discount_total + tax_total",
                           name="sale_total_check"),
        sa.CheckConstraint("subtotal >= 0 AND discount_total >= 0 AND "
                           "tax_total >= 0", name="sale_amounts_check"),
        schema="pos")
    op.create_table(
        "sale_line",
        sa.Column("sale_id", pg.UUID,
                  sa.ForeignKey("pos.sale.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("line_no", sa.SmallInteger, primary_key=True),
        sa.Column("product_id", pg.UUID, sa.ForeignKey("inv.product.id"),
                  nullable=False),
        qty("quantity"),
        money("unit_price"),
        money("discount", default="0"),
        sa.Column("tax_rate", sa.Numeric(5, 4), nullable=False,
                  server_default="0"),
        money("line_total"),
        sa.CheckConstraint("quantity <> 0", name="sale_line_quantity_check"),
        sa.CheckConstraint("unit_price >= 0 AND discount >= 0",
                           name="sale_line_price_check"),
        schema="pos")
    op.create_table(
        "payment", bigint_pk(),
        sa.Column("sale_id", pg.UUID,
                  sa.ForeignKey("pos.sale.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("method", enum("pos.payment_method"), nullable=False),
        money("amount"),
        money("tendered", nullable=True),
        money("change_due", default="0"),
        sa.Column("reference", sa.Text),
        jsonb("details", default=None, nullable=True),
        created_at("received_at"),
        sa.CheckConstraint("amount > 0", name="payment_amount_check"),
        sa.CheckConstraint("method = 'cash' OR (tendered IS NULL AND "
                           "change_due = 0)", name="payment_cash_check"),
        schema="pos")
    # inv.stock_movement records which sale moved the stock; pos.sale
    # exists only now, hence the late cross-schema foreign key.
    op.create_foreign_key("stock_movement_sale_id_fkey", "stock_movement",
                          "sale", ["sale_id"], ["id"], source_schema="inv",
                          referent_schema="pos", ondelete="SET NULL")


def downgrade():
    op.drop_constraint("stock_movement_sale_id_fkey", "stock_movement",
                       schema="inv", type_="foreignkey")
    for table in ("pos.payment", "pos.sale_line", "pos.sale", "pos.customer",
                  "pos.shift", "pos.terminal",
                  "inv.stock_movement", "inv.stock_level",
                  "inv.price_list_item", "inv.price_list", "inv.product",
                  "inv.supplier", "inv.category",
                  "acct.journal_line", "acct.journal_entry",
                  "acct.fiscal_period", "acct.account",
                  "core.audit_log", "core.store_member",
                  "core.organization_member", "core.role", "core.app_user",
                  "core.store", "core.organization"):
        schema, name = table.split(".")
        op.drop_table(name, schema=schema)
    for qualified in reversed(list(ENUMS)):
        enum(qualified).drop(op.get_bind(), checkfirst=False)
    for schema in reversed(SCHEMAS):
        op.execute("DROP SCHEMA %s" % schema)
    op.execute("DROP EXTENSION citext")
    op.execute("DROP EXTENSION pgcrypto")
