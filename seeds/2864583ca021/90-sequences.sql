-- The seed rows carry explicit ids (so account parents resolve); move the
-- identity sequences past them so the next insert does not collide.
SELECT setval(pg_get_serial_sequence('core.role', 'id'), max(id)) FROM core.role;
SELECT setval(pg_get_serial_sequence('acct.account', 'id'), max(id)) FROM acct.account;
SELECT setval(pg_get_serial_sequence('inv.price_list', 'id'), max(id)) FROM inv.price_list;
