-- revision: 2864583ca021
-- down_revision: 853113448960
-- message: seed initial data
-- transactional: true

-- +upgrade
-- The rows themselves are in seeds/2864583ca021/ and load right after this
-- section, in the same transaction. Refuse early, with a message that says
-- why, when a database already holds the default organization or admin.
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
$seed$;

-- +downgrade
-- Delete exactly the seeded rows, children first. Rows that business added
-- on top (sales by the admin, more accounts under the organization) make a
-- foreign key fail here, and the downgrade stops rather than lose them.
DELETE FROM pos.terminal
 WHERE id = '0a1c0125-0000-4000-8000-000000010001';
DELETE FROM inv.price_list
 WHERE id = 1 AND organization_id = '0a1c0125-0000-4000-8000-000000000001';
DELETE FROM acct.account
 WHERE id BETWEEN 1 AND 33
   AND organization_id = '0a1c0125-0000-4000-8000-000000000001';
DELETE FROM core.store_member
 WHERE store_id = '0a1c0125-0000-4000-8000-000000000101'
   AND user_id = '0a1c0125-0000-4000-8000-000000001001';
DELETE FROM core.organization_member
 WHERE organization_id = '0a1c0125-0000-4000-8000-000000000001'
   AND user_id = '0a1c0125-0000-4000-8000-000000001001';
DELETE FROM core.role
 WHERE id BETWEEN 1 AND 5
   AND organization_id = '0a1c0125-0000-4000-8000-000000000001';
DELETE FROM core.app_user
 WHERE id = '0a1c0125-0000-4000-8000-000000001001';
DELETE FROM core.store
 WHERE id = '0a1c0125-0000-4000-8000-000000000101';
DELETE FROM core.organization
 WHERE id = '0a1c0125-0000-4000-8000-000000000001';

-- The seed moved the identity sequences; put them back where they were
-- when nothing else has used them since.
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
$seed$;
