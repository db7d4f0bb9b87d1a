"""seed initial data

Revision ID: 2864583ca021
Revises: 853113448960
Create Date: 2024-01-29 09:00:00

A default organization, an admin user, core linkage and a base chart of
accounts. Refuses early, with a message that says why, when a database
already holds the default organization or admin.
"""
import datetime

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

revision = "2864583ca021"
down_revision = "853113448960"
branch_labels = None
depends_on = None

ORG = "0a1c0125-0000-4000-8000-000000000001"

ORGANIZATION = sa.table(
    'organization',
    sa.column('id', pg.UUID),
    sa.column('code', sa.Text),
    sa.column('legal_name', sa.Text),
    sa.column('tax_id', sa.Text),
    sa.column('currency', sa.CHAR(3)),
    sa.column('settings', pg.JSONB),
    schema='core',
)


STORE = sa.table(
    'store',
    sa.column('id', pg.UUID),
    sa.column('organization_id', pg.UUID),
    sa.column('code', sa.Text),
    sa.column('name', sa.Text),
    sa.column('address', pg.JSONB),
    sa.column('timezone', sa.Text),
    sa.column('opened_on', sa.Date),
    schema='core',
)


APP_USER = sa.table(
    'app_user',
    sa.column('id', pg.UUID),
    sa.column('email', sa.Text),
    sa.column('full_name', sa.Text),
    sa.column('password_hash', sa.Text),
    sa.column('is_active', sa.Boolean),
    sa.column('preferences', pg.JSONB),
    schema='core',
)


ROLE = sa.table(
    'role',
    sa.column('id', sa.Integer),
    sa.column('organization_id', pg.UUID),
    sa.column('name', sa.Text),
    sa.column('base_role', sa.Text),
    sa.column('permissions', pg.JSONB),
    schema='core',
)


ORGANIZATION_MEMBER = sa.table(
    'organization_member',
    sa.column('organization_id', pg.UUID),
    sa.column('user_id', pg.UUID),
    sa.column('role_id', sa.Integer),
    schema='core',
)


STORE_MEMBER = sa.table(
    'store_member',
    sa.column('store_id', pg.UUID),
    sa.column('user_id', pg.UUID),
    sa.column('is_default', sa.Boolean),
    schema='core',
)


ACCOUNT = sa.table(
    'account',
    sa.column('id', sa.Integer),
    sa.column('organization_id', pg.UUID),
    sa.column('parent_id', sa.Integer),
    sa.column('code', sa.Text),
    sa.column('name', sa.Text),
    sa.column('account_type', sa.Text),
    sa.column('is_postable', sa.Boolean),
    sa.column('currency', sa.CHAR(3)),
    schema='acct',
)


PRICE_LIST = sa.table(
    'price_list',
    sa.column('id', sa.Integer),
    sa.column('organization_id', pg.UUID),
    sa.column('name', sa.Text),
    sa.column('currency', sa.CHAR(3)),
    sa.column('is_default', sa.Boolean),
    schema='inv',
)


TERMINAL = sa.table(
    'terminal',
    sa.column('id', pg.UUID),
    sa.column('store_id', pg.UUID),
    sa.column('code', sa.Text),
    sa.column('name', sa.Text),
    sa.column('hardware', pg.JSONB),
    schema='pos',
)


GUARD = """
DO $seed$
BEGIN
    IF EXISTS (SELECT 1 FROM core.organization
                WHERE id = '0a1c0125-0000-4000-8000-000000000001'
                   OR code = 'ARCOIRIS') THEN
        RAISE EXCEPTION 'seed initial data: organization ARCOIRIS already exists'
              USING HINT = 'the seed data is for a database with no organization yet';
    END IF;
    IF EXISTS (SELECT 1 FROM core.app_user
                WHERE id = '0a1c0125-0000-4000-8000-000000001001'
                   OR email = 'admin@arcoirispos.example') THEN
        RAISE EXCEPTION 'seed initial data: user admin@arcoirispos.example already exists';
    END IF;
END
$seed$
"""

RESTART_IDENTITIES = """
DO $seed$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM core.role) THEN
        ALTER TABLE core.role ALTER COLUMN id RESTART;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM acct.account) THEN
        ALTER TABLE acct.account ALTER COLUMN id RESTART;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM inv.price_list) THEN
        ALTER TABLE inv.price_list ALTER COLUMN id RESTART;
    END IF;
END
$seed$
"""


def upgrade():
    op.execute(GUARD)
    op.bulk_insert(ORGANIZATION, [
        {'id': ORG, 'code': 'ARCOIRIS', 'legal_name': 'ArcoIris Comercial S.A.', 'tax_id': '1790012345001', 'currency': 'USD', 'settings': {'locale': 'es-EC', 'timezone': 'America/Guayaquil', 'receipt_footer': 'Gracias por su compra'}},
    ])
    op.bulk_insert(STORE, [
        {'id': '0a1c0125-0000-4000-8000-000000000101', 'organization_id': ORG, 'code': 'MATRIZ', 'name': 'Tienda Matriz', 'address': {'street': 'Av. Amazonas N24-10 y Colón', 'city': 'Quito', 'country': 'EC'}, 'timezone': 'America/Guayaquil', 'opened_on': datetime.date(2024, 1, 15)},
    ])
    op.bulk_insert(APP_USER, [
        {'id': '0a1c0125-0000-4000-8000-000000001001', 'email': 'admin@arcoirispos.example', 'full_name': 'Administración ArcoIris', 'password_hash': '$2a$10$vNJLPP4/DD9cWNGKoluX.eI5pTq8MBFjrE0OYd8FSUGOaAwWVLseG', 'is_active': True, 'preferences': {'language': 'es', 'must_change_password': True}},
    ])
    op.bulk_insert(ROLE, [
        {'id': 1, 'organization_id': ORG, 'name': 'Owner', 'base_role': 'owner', 'permissions': ['*']},
        {'id': 2, 'organization_id': ORG, 'name': 'Administrator', 'base_role': 'admin', 'permissions': ['core.*', 'acct.*', 'inv.*', 'pos.*']},
        {'id': 3, 'organization_id': ORG, 'name': 'Store manager', 'base_role': 'manager', 'permissions': ['inv.*', 'pos.*', 'acct.read', 'core.user.read']},
        {'id': 4, 'organization_id': ORG, 'name': 'Cashier', 'base_role': 'cashier', 'permissions': ['pos.sale.create', 'pos.sale.void_own', 'pos.shift.open', 'pos.shift.close', 'inv.read']},
        {'id': 5, 'organization_id': ORG, 'name': 'Auditor', 'base_role': 'auditor', 'permissions': ['acct.read', 'inv.read', 'pos.read', 'core.audit_log.read']},
    ])
    op.bulk_insert(ORGANIZATION_MEMBER, [
        {'organization_id': ORG, 'user_id': '0a1c0125-0000-4000-8000-000000001001', 'role_id': 2},
    ])
    op.bulk_insert(STORE_MEMBER, [
        {'store_id': '0a1c0125-0000-4000-8000-000000000101', 'user_id': '0a1c0125-0000-4000-8000-000000001001', 'is_default': True},
    ])
    op.bulk_insert(ACCOUNT, [
        {'id': 1, 'organization_id': ORG, 'parent_id': None, 'code': '1', 'name': 'Assets', 'account_type': 'asset', 'is_postable': False, 'currency': 'USD'},
        {'id': 2, 'organization_id': ORG, 'parent_id': 1, 'code': '1.1', 'name': 'Current assets', 'account_type': 'asset', 'is_postable': False, 'currency': 'USD'},
        {'id': 3, 'organization_id': ORG, 'parent_id': 2, 'code': '1.1.01', 'name': 'Cash on hand', 'account_type': 'asset', 'is_postable': True, 'currency': 'USD'},
        {'id': 4, 'organization_id': ORG, 'parent_id': 2, 'code': '1.1.02', 'name': 'Register floats', 'account_type': 'asset', 'is_postable': True, 'currency': 'USD'},
        {'id': 5, 'organization_id': ORG, 'parent_id': 2, 'code': '1.1.03', 'name': 'Bank accounts', 'account_type': 'asset', 'is_postable': True, 'currency': 'USD'},
        {'id': 6, 'organization_id': ORG, 'parent_id': 2, 'code': '1.1.04', 'name': 'Card settlements receivable', 'account_type': 'asset', 'is_postable': True, 'currency': 'USD'},
        {'id': 7, 'organization_id': ORG, 'parent_id': 2, 'code': '1.1.05', 'name': 'Accounts receivable', 'account_type': 'asset', 'is_postable': True, 'currency': 'USD'},
        {'id': 8, 'organization_id': ORG, 'parent_id': 2, 'code': '1.1.06', 'name': 'Merchandise inventory', 'account_type': 'asset', 'is_postable': True, 'currency': 'USD'},
        {'id': 9, 'organization_id': ORG, 'parent_id': 2, 'code': '1.1.07', 'name': 'VAT receivable', 'account_type': 'asset', 'is_postable': True, 'currency': 'USD'},
        {'id': 10, 'organization_id': ORG, 'parent_id': 1, 'code': '1.2', 'name': 'Non-current assets', 'account_type': 'asset', 'is_postable': False, 'currency': 'USD'},
        {'id': 11, 'organization_id': ORG, 'parent_id': 10, 'code': '1.2.01', 'name': 'Store equipment', 'account_type': 'asset', 'is_postable': True, 'currency': 'USD'},
        {'id': 12, 'organization_id': ORG, 'parent_id': 10, 'code': '1.2.02', 'name': 'Accumulated depreciation', 'account_type': 'asset', 'is_postable': True, 'currency': 'USD'},
        {'id': 13, 'organization_id': ORG, 'parent_id': None, 'code': '2', 'name': 'Liabilities', 'account_type': 'liability', 'is_postable': False, 'currency': 'USD'},
        {'id': 14, 'organization_id': ORG, 'parent_id': 13, 'code': '2.1', 'name': 'Current liabilities', 'account_type': 'liability', 'is_postable': False, 'currency': 'USD'},
        {'id': 15, 'organization_id': ORG, 'parent_id': 14, 'code': '2.1.01', 'name': 'Accounts payable', 'account_type': 'liability', 'is_postable': True, 'currency': 'USD'},
        {'id': 16, 'organization_id': ORG, 'parent_id': 14, 'code': '2.1.02', 'name': 'VAT payable', 'account_type': 'liability', 'is_postable': True, 'currency': 'USD'},
        {'id': 17, 'organization_id': ORG, 'parent_id': 14, 'code': '2.1.03', 'name': 'Gift vouchers and store credit', 'account_type': 'liability', 'is_postable': True, 'currency': 'USD'},
        {'id': 18, 'organization_id': ORG, 'parent_id': 14, 'code': '2.1.04', 'name': 'Salaries payable', 'account_type': 'liability', 'is_postable': True, 'currency': 'USD'},
        {'id': 19, 'organization_id': ORG, 'parent_id': None, 'code': '3', 'name': 'Equity', 'account_type': 'equity', 'is_postable': False, 'currency': 'USD'},
        {'id': 20, 'organization_id': ORG, 'parent_id': 19, 'code': '3.1', 'name': 'Share capital', 'account_type': 'equity', 'is_postable': True, 'currency': 'USD'},
        {'id': 21, 'organization_id': ORG, 'parent_id': 19, 'code': '3.2', 'name': 'Retained earnings', 'account_type': 'equity', 'is_postable': True, 'currency': 'USD'},
        {'id': 22, 'organization_id': ORG, 'parent_id': None, 'code': '4', 'name': 'Revenue', 'account_type': 'revenue', 'is_postable': False, 'currency': 'USD'},
        {'id': 23, 'organization_id': ORG, 'parent_id': 22, 'code': '4.1', 'name': 'Sales', 'account_type': 'revenue', 'is_postable': True, 'currency': 'USD'},
        {'id': 24, 'organization_id': ORG, 'parent_id': 22, 'code': '4.2', 'name': 'Sales returns and discounts', 'account_type': 'revenue', 'is_postable': True, 'currency': 'USD'},
        {'id': 25, 'organization_id': ORG, 'parent_id': 22, 'code': '4.3', 'name': 'Other income', 'account_type': 'revenue', 'is_postable': True, 'currency': 'USD'},
        {'id': 26, 'organization_id': ORG, 'parent_id': None, 'code': '5', 'name': 'Expenses', 'account_type': 'expense', 'is_postable': False, 'currency': 'USD'},
        {'id': 27, 'organization_id': ORG, 'parent_id': 26, 'code': '5.1', 'name': 'Cost of goods sold', 'account_type': 'expense', 'is_postable': True, 'currency': 'USD'},
        {'id': 28, 'organization_id': ORG, 'parent_id': 26, 'code': '5.2', 'name': 'Inventory shrinkage', 'account_type': 'expense', 'is_postable': True, 'currency': 'USD'},
        {'id': 29, 'organization_id': ORG, 'parent_id': 26, 'code': '5.3', 'name': 'Card processing fees', 'account_type': 'expense', 'is_postable': True, 'currency': 'USD'},
        {'id': 30, 'organization_id': ORG, 'parent_id': 26, 'code': '5.4', 'name': 'Rent', 'account_type': 'expense', 'is_postable': True, 'currency': 'USD'},
        {'id': 31, 'organization_id': ORG, 'parent_id': 26, 'code': '5.5', 'name': 'Salaries and wages', 'account_type': 'expense', 'is_postable': True, 'currency': 'USD'},
        {'id': 32, 'organization_id': ORG, 'parent_id': 26, 'code': '5.6', 'name': 'Utilities', 'account_type': 'expense', 'is_postable': True, 'currency': 'USD'},
        {'id': 33, 'organization_id': ORG, 'parent_id': 26, 'code': '5.7', 'name': 'Cash over and short', 'account_type': 'expense', 'is_postable': True, 'currency': 'USD'},
    ])
    op.bulk_insert(PRICE_LIST, [
        {'id': 1, 'organization_id': ORG, 'name': 'General', 'currency': 'USD', 'is_default': True},
    ])
    op.bulk_insert(TERMINAL, [
        {'id': '0a1c0125-0000-4000-8000-000000010001', 'store_id': '0a1c0125-0000-4000-8000-000000000101', 'code': 'T01', 'name': 'Caja 1 (mostrador)', 'hardware': {'printer': 'escpos-80mm', 'cash_drawer': True, 'scanner': 'usb-hid'}},
    ])
    # The rows carry explicit ids (so account parents resolve); move the
    # identity sequences past them so the next insert does not collide.
    op.execute("SELECT setval(pg_get_serial_sequence('core.role', 'id'), max(id)) FROM core.role")
    op.execute("SELECT setval(pg_get_serial_sequence('acct.account', 'id'), max(id)) FROM acct.account")
    op.execute("SELECT setval(pg_get_serial_sequence('inv.price_list', 'id'), max(id)) FROM inv.price_list")


def downgrade():
    # Delete exactly the seeded rows, children first. Rows that business
    # added on top make a foreign key fail here, and the downgrade stops
    # rather than lose them.
    op.execute("""DELETE FROM pos.terminal
 WHERE id = '0a1c0125-0000-4000-8000-000000010001'""")
    op.execute("""DELETE FROM inv.price_list
 WHERE id = 1 AND organization_id = '0a1c0125-0000-4000-8000-000000000001'""")
    op.execute("""DELETE FROM acct.account
 WHERE id BETWEEN 1 AND 33
   AND organization_id = '0a1c0125-0000-4000-8000-000000000001'""")
    op.execute("""DELETE FROM core.store_member
 WHERE store_id = '0a1c0125-0000-4000-8000-000000000101'
   AND user_id = '0a1c0125-0000-4000-8000-000000001001'""")
    op.execute("""DELETE FROM core.organization_member
 WHERE organization_id = '0a1c0125-0000-4000-8000-000000000001'
   AND user_id = '0a1c0125-0000-4000-8000-000000001001'""")
    op.execute("""DELETE FROM core.role
 WHERE id BETWEEN 1 AND 5
   AND organization_id = '0a1c0125-0000-4000-8000-000000000001'""")
    op.execute("""DELETE FROM core.app_user
 WHERE id = '0a1c0125-0000-4000-8000-000000001001'""")
    op.execute("""DELETE FROM core.store
 WHERE id = '0a1c0125-0000-4000-8000-000000000101'""")
    op.execute("""DELETE FROM core.organization
 WHERE id = '0a1c0125-0000-4000-8000-000000000001'""")
    # The seed moved the identity sequences; put them back where they were
    # when nothing else has used them since.
    op.execute(RESTART_IDENTITIES)
