"""Observe an Alembic project's revisions for `sqlbundle import alembic`.

This is the Python side of a narrow seam: `sqlbundle` runs this script once
per import, in the interpreter the user picked (--python), and reads what
it saw from its standard output. The helper observes; the C program
decides: it validates ids and the chain, drops catalog reads,
transaction-control and version-table statements, makes revisions
non-transactional, applies the size limits, composes, compares and writes
the files.

Usage (by sqlbundle, not by hand):
    alembic_import.py --config INI [--to REV] [--offline]
                      [--scratch CONNINFO] [--pgbin DIR]

The project's env.py is NOT run (it would connect to the real database):
the script directory is loaded as Alembic loads it (alembic.ini's
script_location, prepend_sys_path, version_locations), and each revision's
upgrade() and downgrade() are called here, under Operations over a
MigrationContext, either online against a scratch database created here
(capture, the default) or offline with as_sql (--offline).

Capture runs the chain as Alembic runs it: every upgrade once, in
Alembic's order, up to the head; then every downgrade once, from the head
down, each in the state Alembic would run it in. A downgrade that fails is
reported, and the walk goes on below it in a fresh scratch database that
the SQL already recorded brings to that point.

Output: records, each "<tag> <length>\\n<length bytes>\\n", UTF-8. First
the chain, in Alembic's order (parents first):
    node ID           a revision; then its
    parents IDS       comma-separated parent ids, empty for the base
    message TEXT      first line of the docstring (Alembic's -m)
    source PATH       the version file, relative to the folder of the ini
    line N            line of its "revision =" (0: not found)
    downline N        line of its "down_revision =" (0: not found)
    chain N           the N nodes above are the whole chain
then what each call did, upgrades first, then downgrades:
    up ID | down ID   the call of upgrade() / downgrade() of ID starts
    sql TEXT          one statement as sent to the server (or rendered)
    autocommit ""     the call committed, or ran in an autocommit block
    refused TEXT      PostgreSQL refused this statement inside a
                      transaction; it ran outside one
    read TEXT         the call read query results (TEXT: file:line or "")
    volatile TEXT     the call used a value of the moment (uuid4(), ...)
    missing ""        no such function in the module
    fail TEXT         the call raised (downgrades only): file:line: message
    note TEXT         any other warning about the revision
    done N            all N revisions were sent; exit status 0
    error TEXT        fatal: nothing may be written; exit status 1
Catalog reads made by SQLAlchemy or Alembic (reflection, has_table,
checkfirst, inspect(), dialect queries) are run, never sent; any other
statement that only reads the catalog is sent, and the C side's rule
leaves it out.
Anything the revision code prints goes to stderr, never into the records.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the user's project


class ImportFailure(Exception):
    """A fatal error with the message to show (already located)."""


class StrictError(Exception):
    """Something --offline cannot render faithfully."""


class Out:
    def __init__(self):
        # The records get the real stdout; whatever the revision code
        # prints goes to stderr.
        self.f = os.fdopen(os.dup(1), "wb")
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def rec(self, tag, text=""):
        data = str(text).encode("utf-8", "surrogateescape")
        self.f.write(b"%s %d\n" % (tag.encode(), len(data)))
        self.f.write(data + b"\n")

    def flush(self):
        self.f.flush()


def pg_error(exc):
    """PostgreSQL's own error under exc (SQLAlchemy's or the driver's)."""
    for e in (exc, getattr(exc, "orig", None)):
        if e is not None and getattr(e, "pgcode", None):
            return e
    return None


def describe(exc):
    """One line for an exception: PostgreSQL's message and SQLSTATE when
    the server refused a statement, never SQLAlchemy's "Background on this
    error" line alone."""
    pg = pg_error(exc)
    if pg is not None:
        diag = pg.diag
        text = diag.message_primary or str(pg).strip().split("\n")[0]
        text = "%s (SQLSTATE %s)" % (text, pg.pgcode)
        if diag.message_detail:
            text += "; DETAIL: %s" % diag.message_detail
        if diag.message_hint:
            text += "; HINT: %s" % diag.message_hint
        stmt = getattr(exc, "statement", None) or \
            (pg.cursor.query.decode("utf-8", "replace")
             if getattr(pg, "cursor", None) is not None and
             pg.cursor.query else None)
        if stmt:
            text += "; in: %s" % " ".join(stmt.split())[:80]
        return text
    lines = [ln for ln in "".join(traceback.format_exception_only(
        type(exc), exc)).strip().splitlines()
        if ln.strip() and not ln.startswith(("(Background on this error",
                                             "[SQL:", "[parameters:"))]
    return lines[-1].strip() if lines else type(exc).__name__


def locate(exc, paths):
    """file:line of the innermost traceback frame in one of paths."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        fn = os.path.realpath(tb.tb_frame.f_code.co_filename)
        if fn in paths:
            found = (paths[fn], tb.tb_lineno)
        tb = tb.tb_next
    return found


ASSIGN = re.compile(r"^(down_revision|revision)\s*(:[^=]*)?=")


def assign_lines(path):
    """Lines of "revision =" and "down_revision =" in a version file."""
    found = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = ASSIGN.match(line)
                if m and m.group(1) not in found:
                    found[m.group(1)] = n
    except OSError:
        pass
    return found.get("revision", 0), found.get("down_revision", 0)


class Project:
    def __init__(self, ini):
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        self.ini = os.path.abspath(ini)
        self.base = os.path.dirname(self.ini)
        if not os.path.isfile(self.ini):
            raise ImportFailure("%s: no such file (pass --config FILE)" % ini)
        cfg = self.cfg = Config(self.ini)
        try:
            self.script = ScriptDirectory.from_config(cfg)
        except Exception as e:
            raise ImportFailure("%s: %s" % (ini, describe(e)))
        # for naming a version file that fails to load (a private list:
        # without it, errors name the ini instead)
        self.dirs = [os.path.realpath(d) for d in
                     getattr(self.script, "_version_locations", None) or
                     [self.script.versions]]
        self.paths = {}
        try:
            self.revs = {r.revision: r for r in self.script.walk_revisions()}
        except Exception as e:
            where = locate(e, self._version_files())
            if where is None:
                raise ImportFailure("%s: %s" % (ini, describe(e)))
            raise ImportFailure("%s:%d: %s" % (where[0], where[1],
                                               describe(e)))
        for r in self.revs.values():
            self.paths[os.path.realpath(r.path)] = self.rel(r.path)

    def rel(self, path):
        return os.path.relpath(os.path.realpath(path),
                               os.path.realpath(self.base))

    def _version_files(self):
        files = {}
        for d in self.dirs:
            if os.path.isdir(d):
                for name in os.listdir(d):
                    if name.endswith(".py"):
                        p = os.path.realpath(os.path.join(d, name))
                        files[p] = self.rel(p)
        return files

    @staticmethod
    def parents(r):
        d = r.down_revision
        if d is None:
            return ()
        return tuple(d) if isinstance(d, (tuple, list)) else (d,)

    def order(self, to):
        """Alembic's own upgrade order (parents first), limited to `to`
        and its ancestors. Whether the chain is one sqlbundle can keep
        (one base, one head) is for sqlbundle to say."""
        head = "heads"
        if to is not None:
            try:
                target = self.script.get_revision(to)
            except Exception as e:
                raise ImportFailure("--to %s: %s" % (to, describe(e)))
            if target is None:
                raise ImportFailure("--to %s: no such revision" % to)
            head = target.revision
        try:
            walk = list(self.script.walk_revisions("base", head))
        except Exception as e:
            raise ImportFailure("%s: %s" % (self.rel(self.ini),
                                            describe(e)))
        out, seen = [], set()
        for r in reversed(walk):
            if r.revision not in seen:
                seen.add(r.revision)
                out.append(r.revision)
        return out


class Phase:
    """What one upgrade() or downgrade() call did."""

    def __init__(self):
        self.stmts = []         # as sent (or rendered)
        self.replay = []        # (statement, autocommit) to rebuild from
        self.autocommit = False
        self.refused = []       # statements PostgreSQL refused in a block
        self.reads = None       # "file:line" of the first read, or ""
        self.error = None       # "file:line: text"
        self.missing = False
        self.clock = None       # "uuid4() at line N": a value of the moment

    def note_read(self, where):
        if self.reads is None:
            self.reads = where or ""


def in_pkg(frame, names):
    """True if frame's module is one of the packages names (or in one):
    "alembic" is, "alembic_postgresql_enum" is not."""
    mod = frame.f_globals.get("__name__", "")
    return any(mod == n or mod.startswith(n + ".") for n in names)


def legacy_strings(conn):
    """Under SQLAlchemy 1.4, Alembic's generic env.py gives revisions a
    1.4 style connection, whose execute() runs a plain string as the
    driver's SQL; the capture's 2.0 style connection does the same for
    them. SQLAlchemy 2.0 refuses a string under Alembic too: left so."""
    import sqlalchemy

    if int(sqlalchemy.__version__.split(".")[0]) >= 2:
        return
    execute = conn.execute

    def execute_str(statement, *args, **kw):
        if isinstance(statement, str):
            return conn.exec_driver_sql(statement, *args, **kw)
        return execute(statement, *args, **kw)
    conn.execute = execute_str


def user_frame(skip=("sqlalchemy", "psycopg2")):
    """The first caller frame outside SQLAlchemy and the driver."""
    f = sys._getframe(2)
    while f is not None:
        if not in_pkg(f, skip) and f.f_globals is not globals():
            return f
        f = f.f_back
    return None


def is_ours(frame):
    if frame is None:
        return True
    return in_pkg(frame, ("alembic",)) or frame.f_globals is globals()


def clock_watch(phase, project):
    """A profile hook noting calls, from the project's own code, of the
    clock, random numbers and uuids: values an import would freeze."""
    import datetime
    import random
    import time
    import uuid
    import sysconfig

    stdlib = tuple(os.path.realpath(sysconfig.get_paths()[k]) + os.sep
                   for k in ("stdlib", "platstdlib"))
    cfuncs = {time.time: "time.time()", time.time_ns: "time.time_ns()",
              os.urandom: "os.urandom()"}
    pycode = {uuid.uuid1.__code__: "uuid1()", uuid.uuid4.__code__: "uuid4()"}
    cmethods = {(datetime.datetime, "now"): "datetime.now()",
                (datetime.datetime, "utcnow"): "datetime.utcnow()",
                (datetime.datetime, "today"): "datetime.today()",
                (datetime.date, "today"): "date.today()"}

    def user(frame):
        if frame is None:
            return False
        fn = os.path.realpath(frame.f_code.co_filename)
        return not fn.startswith(stdlib) and frame.f_globals is not \
            globals() and not in_pkg(frame, ("sqlalchemy", "alembic",
                                             "psycopg2"))

    def hook(frame, event, arg):
        what = None
        if event == "c_call":
            what = cfuncs.get(arg)
            owner = getattr(arg, "__self__", None)
            if what is None and owner is random._inst:
                what = "random.%s()" % arg.__name__
            if what is None and isinstance(owner, type):
                what = cmethods.get((owner, arg.__name__))
            if what is not None and not user(frame):
                what = None
        elif event == "call":
            what = pycode.get(frame.f_code)
            if what is not None and not user(frame.f_back):
                what = None
            frame = frame.f_back
        if what is not None and phase.clock is None:
            fn = os.path.realpath(frame.f_code.co_filename)
            where = project.paths.get(fn)
            phase.clock = "%s%s" % (what, " at line %d" % frame.f_lineno
                                    if where else "")
    return hook


def reflecting(exc):
    """True if exc was raised while SQLAlchemy reflected the database."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") == \
                "sqlalchemy.engine.reflection":
            return True
        tb = tb.tb_next
    return False


class Runner:
    """Calls upgrade()/downgrade() of one module and records a Phase."""

    def __init__(self, project, as_sql=False):
        from alembic.runtime.environment import EnvironmentContext

        self.project = project
        # What env.py would have set up: op.get_context().config is the
        # project's Config, and "from alembic import context" answers
        # (is_offline_mode(), get_x_argument(), config).
        self.env = EnvironmentContext(project.cfg, project.script,
                                      as_sql=as_sql)
        self.env.__enter__()

    def phase(self, rev, name):
        from alembic.operations import Operations

        phase = Phase()
        fn = getattr(rev.module, name, None)
        if fn is None:
            phase.missing = True
            return phase
        ctx = self.context(phase)
        self.env._migration_context = ctx
        try:
            with Operations.context(ctx):
                sys.setprofile(clock_watch(phase, self.project))
                try:
                    self.run(ctx, fn, phase)
                finally:
                    sys.setprofile(None)
        except Exception as e:
            self.failed(e)
            where = locate(e, self.project.paths)
            path = self.project.rel(rev.path)
            loc = "%s:%d" % where if where else path
            text = describe(e)
            if isinstance(self, Offline) and ("MockConnection" in text or
                                              reflecting(e)):
                text = "StrictError: inspects the database (reflection), " \
                       "which --offline cannot do; use the capture mode"
            phase.error = "%s: %s" % (loc, text)
        return phase

    def failed(self, exc):
        pass


class Offline(Runner):
    def __init__(self, project):
        super().__init__(project, as_sql=True)
        from sqlalchemy import create_mock_engine
        self.create_mock_engine = create_mock_engine

    def context(self, phase):
        import io
        from alembic.runtime.migration import MigrationContext
        from sqlalchemy.sql.elements import ClauseElement
        from sqlalchemy.sql.ddl import DDLElement
        from sqlalchemy import text

        # "named" parameters: a '%' is not doubled in the SQL written
        ctx = MigrationContext.configure(
            dialect_name="postgresql", dialect_opts={"paramstyle": "named"},
            environment_context=self.env,
            opts={"as_sql": True, "output_buffer": io.StringIO(),
                  "literal_binds": True, "transaction_per_migration": True})
        impl = ctx.impl

        def static_output(text):
            phase.stmts.append(text)

        def emit_commit():
            phase.autocommit = True  # an autocommit_block()

        def strict_exec(construct, execution_options=None, multiparams=(),
                        params=None, **kw):
            if multiparams or params:
                raise StrictError("parameters passed to execute() would be "
                                  "rendered as NULL by --offline")
            if isinstance(construct, ClauseElement) and \
                    not isinstance(construct, DDLElement):
                for b in construct.compile(dialect=ctx.dialect).binds.values():
                    if b.required and b.value is None and b.callable is None:
                        raise StrictError(
                            "bound parameter \":%s\" has no value; --offline "
                            "would render it as NULL" % b.key)
            # Alembic's as_sql rendering, minus its tab-to-spaces change:
            # the SQL as capture would send it.
            if isinstance(construct, str):
                construct = text(construct)
            kw = {} if isinstance(construct, DDLElement) else \
                {"compile_kwargs": {"literal_binds": True}}
            phase.stmts.append(str(construct.compile(dialect=ctx.dialect,
                                                     **kw)).strip())
            return ReadTrap()

        def dump(construct, *multiparams, **params):
            return strict_exec(construct, None, multiparams, params)

        impl.static_output = static_output
        impl.emit_begin = lambda: None
        impl.emit_commit = emit_commit
        impl._exec = strict_exec
        def exec_driver_sql(sql, parameters=None, execution_options=None):
            if parameters:
                raise StrictError("parameters passed to exec_driver_sql() "
                                  "would be lost by --offline")
            phase.stmts.append(sql.strip())
            return ReadTrap()

        mock = self.create_mock_engine("postgresql+psycopg2://", dump)
        mock.exec_driver_sql = exec_driver_sql
        ctx.connection = impl.connection = mock
        return ctx

    def run(self, ctx, fn, phase):
        fn()


class ReadTrap:
    """What execute() returns offline: any use of a result is an error."""

    def __getattr__(self, name):
        raise StrictError("reads query results (.%s), which --offline "
                          "cannot do; use the capture mode" % name)

    def __iter__(self):
        raise StrictError("reads query results, which --offline cannot do; "
                          "use the capture mode")


def catalog_read():
    """True when the statement about to run comes from SQLAlchemy reading
    the catalog for itself: reflection (inspect(), autoload,
    batch_alter_table), has_table/has_type (checkfirst) and the dialect's
    own queries. Such reads are run, never recorded: they hold the scratch
    database's OIDs and say nothing a revision must do."""
    from sqlalchemy.engine.interfaces import Dialect

    f = sys._getframe(2)
    while f is not None:
        if f.f_globals.get("__name__") == "sqlalchemy.engine.reflection":
            return True
        code = f.f_code
        if code.co_argcount > 0 and code.co_varnames[0] == "self" and \
                isinstance(f.f_locals.get("self"), Dialect):
            return True
        f = f.f_back
    return False


class Capture(Runner):
    """Online: each call runs against the scratch database; statements are
    recorded as the driver sent them (psycopg2's mogrify of the same
    statement and parameters)."""

    def __init__(self, project, conninfo, dbname):
        super().__init__(project)
        import psycopg2
        import psycopg2.extensions
        from sqlalchemy import event
        from sqlalchemy.engine import CursorResult

        self.psycopg2 = psycopg2
        self.admin_conninfo = conninfo
        self.dbname = dbname
        self.event = event
        self.phase_now = None
        self.in_sa = False
        self.engine = None
        self.conn = None
        self.created = False
        self.snaps = []         # revisions counted by each snapshot
        runner = self

        class Cursor(psycopg2.extensions.cursor):
            def _raw(self, what):
                if runner.phase_now is not None and not runner.in_sa and \
                        not in_pkg(sys._getframe(2),
                                   ("sqlalchemy", "psycopg2")):
                    raise StrictError(
                        "runs SQL through the driver's cursor (%s), which "
                        "the import cannot record; use op.execute() or "
                        "op.get_bind()" % what)

            def execute(self, query, vars=None):
                self._raw("execute")
                ph = runner.phase_now
                if ph is None or not runner.in_sa or runner.reading or \
                        self.connection.autocommit:
                    return super().execute(query, vars)
                return runner.guarded(self, super().execute, query, vars)

            def executemany(self, query, vars_list):
                self._raw("executemany")
                return super().executemany(query, vars_list)

            def copy_expert(self, *a, **kw):
                self._raw("copy_expert")
                return super().copy_expert(*a, **kw)

            def copy_from(self, *a, **kw):
                self._raw("copy_from")
                return super().copy_from(*a, **kw)

            def callproc(self, *a, **kw):
                self._raw("callproc")
                return super().callproc(*a, **kw)

            def _read(self):
                if runner.phase_now is not None and not runner.reading:
                    f = user_frame()
                    if not is_ours(f):
                        runner.phase_now.note_read(runner.revision_where())

            def fetchone(self):
                self._read()
                return super().fetchone()

            def fetchmany(self, *a, **kw):
                self._read()
                return super().fetchmany(*a, **kw)

            def fetchall(self):
                self._read()
                return super().fetchall()

        self.Cursor = Cursor
        orig_rowcount = CursorResult.rowcount

        def rowcount(result):
            if runner.phase_now is not None and \
                    not in_pkg(sys._getframe(1), ("sqlalchemy", "alembic")):
                runner.phase_now.note_read(runner.revision_where())
            return orig_rowcount.fget(result)

        CursorResult.rowcount = property(rowcount)
        self.admin("DROP DATABASE IF EXISTS \"%s\"" % dbname)
        self.admin('CREATE DATABASE "%s" TEMPLATE template0 '
                   "ENCODING 'UTF8'" % dbname)
        self.created = True
        self.connect()

    reading = False

    def guarded(self, cur, execute, query, vars):
        """Run a statement of a revision inside a savepoint: when
        PostgreSQL refuses it inside a transaction block (SQLSTATE 25001,
        as for CREATE INDEX CONCURRENTLY), what ran before it is committed
        and it runs on its own, as sqlbundle-apply will run it. PostgreSQL
        decides, not a list of statements kept here."""
        psycopg2 = self.psycopg2
        ext = psycopg2.extensions
        if cur.connection.status == ext.STATUS_BEGIN and \
                cur.connection.get_transaction_status() != \
                ext.TRANSACTION_STATUS_INTRANS:
            # the revision's own COMMIT ended the block: no savepoint
            return execute(query, vars)
        # savepoints on a cursor of their own: the statement's cursor
        # keeps its result
        with ext.cursor(cur.connection) as side:
            side.execute("SAVEPOINT sqlbundle_import")
            try:
                r = execute(query, vars)
            except psycopg2.Error as e:
                if e.pgcode != "25001":
                    raise
                dbapi = cur.connection
                side.execute("ROLLBACK TO SAVEPOINT sqlbundle_import")
                dbapi.commit()
                dbapi.autocommit = True
                try:
                    r = execute(query, vars)
                finally:
                    dbapi.autocommit = False
                text = query if isinstance(query, str) else \
                    query.decode("utf-8", "replace")
                self.phase_now.refused.append(text)
                self.phase_now.replay[-1:] = [
                    (self.phase_now.replay[-1][0], True)]
                return r
            # unless the statement itself ended the transaction (COMMIT)
            if cur.connection.get_transaction_status() == \
                    ext.TRANSACTION_STATUS_INTRANS:
                side.execute("RELEASE SAVEPOINT sqlbundle_import")
        return r

    VERSION_DDL = "CREATE TABLE alembic_version (version_num varchar(32) " \
                  "NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY " \
                  "(version_num))"

    def revision_where(self):
        """file:line of the innermost caller in a version file (a read
        made by a library is the revision's that called it), or None."""
        f = sys._getframe(1)
        paths = self.project.paths
        while f is not None:
            fn = f.f_code.co_filename
            if fn not in self.realpaths:
                self.realpaths[fn] = os.path.realpath(fn)
            rel = paths.get(self.realpaths[fn])
            if rel is not None:
                return "%s:%d" % (rel, f.f_lineno)
            f = f.f_back
        return None

    realpaths = {}

    def admin(self, sql):
        conn = self.psycopg2.connect(self.admin_conninfo)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def connect(self, fresh=True):
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        psycopg2, conninfo, dbname = self.psycopg2, self.admin_conninfo, \
            self.dbname
        cursor = self.Cursor
        self.engine = create_engine(
            "postgresql+psycopg2://", poolclass=NullPool, future=True,
            creator=lambda: psycopg2.connect(
                conninfo, dbname=dbname, cursor_factory=cursor,
                # a scratch database: its commits need not wait for disk
                options="-c synchronous_commit=off"))
        self.conn = self.engine.connect()
        legacy_strings(self.conn)
        ev = self.event
        ev.listen(self.conn, "before_cursor_execute", self.before, retval=True)
        ev.listen(self.conn, "after_cursor_execute", self.after)
        ev.listen(self.conn, "handle_error", self.on_error)
        ev.listen(self.conn, "commit", self.on_commit)
        # Revisions run where Alembic would have its table (not recorded).
        if fresh:
            self.conn.exec_driver_sql(self.VERSION_DDL)
            self.conn.commit()

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.engine.dispose()
                self.conn = None

    SNAP_EVERY = 25

    def snap_name(self, k):
        return "%s_s%d" % (self.dbname, k)

    def rebuild(self, phases):
        """A fresh scratch database holding what the recorded statements
        of phases do, run as they ran (in a transaction, or on their own
        where they ran outside one). The first rebuild leaves a snapshot
        (a template database) every SNAP_EVERY revisions, so the next,
        lower ones start from the nearest and replay a few revisions."""
        n = len(phases)
        base = max([k for k in self.snaps if k <= n] or [0])
        self.close()
        self.admin('DROP DATABASE "%s"' % self.dbname)
        self.admin('CREATE DATABASE "%s" TEMPLATE %s' % (
            self.dbname, '"%s"' % self.snap_name(base) if base else
            "template0 ENCODING 'UTF8'"))
        self.connect(fresh=not base)
        for k in range(base, n):
            self.replay(phases[k])
            if (k + 1) % self.SNAP_EVERY == 0 and k + 1 < n and \
                    k + 1 not in self.snaps:
                self.close()
                self.admin('CREATE DATABASE "%s" TEMPLATE "%s"' % (
                    self.snap_name(k + 1), self.dbname))
                self.snaps.append(k + 1)
                self.connect(fresh=False)

    def replay(self, ph):
        """One revision's recorded statements: those that ran in a
        transaction in one round trip ("\n;\n" ends one that ends in a --
        comment), the others on their own."""
        dbapi = self.conn.connection.dbapi_connection \
            if hasattr(self.conn.connection, "dbapi_connection") \
            else self.conn.connection.connection
        batch = []
        with dbapi.cursor() as cur:
            for sql, auto in ph.replay + [(None, None)]:
                if batch and (sql is None or auto):
                    cur.execute("\n;\n".join(batch))
                    batch = []
                if sql is None:
                    break
                if auto != dbapi.autocommit:
                    dbapi.commit()
                    dbapi.autocommit = auto
                if auto:
                    cur.execute(sql)
                else:
                    batch.append(sql)
        dbapi.commit()
        dbapi.autocommit = False

    def drop(self):
        self.close()
        if self.created:
            self.admin('DROP DATABASE IF EXISTS "%s"' % self.dbname)
            self.created = False
        while self.snaps:
            self.admin('DROP DATABASE IF EXISTS "%s"' %
                       self.snap_name(self.snaps[-1]))
            self.snaps.pop()

    # SQLAlchemy events ------------------------------------------------
    def before(self, conn, cursor, statement, parameters, context,
               executemany):
        self.in_sa = True
        ph = self.phase_now
        if ph is None:
            return statement, parameters
        if catalog_read():
            self.reading = True
            return statement, parameters
        dbapi = cursor.connection
        if dbapi.autocommit:
            ph.autocommit = True
        if context is not None and context.no_parameters:
            sent = [statement]
        elif executemany:
            sent = [cursor.mogrify(statement, p).decode("utf-8")
                    for p in parameters]
        else:
            sent = [cursor.mogrify(statement, parameters).decode("utf-8")]
        ph.stmts.extend(sent)
        ph.replay.extend((s, bool(dbapi.autocommit)) for s in sent)
        return statement, parameters

    def after(self, conn, cursor, statement, parameters, context,
              executemany):
        self.in_sa = False
        self.reading = False

    def on_error(self, exc_context):
        self.in_sa = False
        self.reading = False

    def on_commit(self, conn):
        if self.phase_now is not None and self.in_body:
            self.phase_now.autocommit = True     # autocommit_block()

    in_body = False

    # Running -----------------------------------------------------------
    def context(self, phase):
        from alembic.runtime.migration import MigrationContext
        return MigrationContext.configure(
            connection=self.conn, environment_context=self.env,
            opts={"transaction_per_migration": True})

    def run(self, ctx, fn, phase):
        self.phase_now = phase
        try:
            with ctx.begin_transaction(_per_migration=True):
                self.in_body = True
                try:
                    fn()
                finally:
                    self.in_body = False
        finally:
            self.phase_now = None
            self.in_sa = False
            self.reading = False
        if self.conn.in_transaction():
            self.conn.commit()

    def failed(self, exc):
        # leave no transaction open for the next call
        try:
            if self.conn.in_transaction():
                self.conn.rollback()
        except Exception:
            pass


class Importer:
    def __init__(self, args, out):
        self.args = args
        self.out = out
        self.server = None
        self.engine = None
        self.project = Project(args.config)

    def start(self):
        """The engine: offline, or a scratch database (on --scratch, or a
        private server whose database may have a fixed name)."""
        args = self.args
        if args.offline:
            self.engine = Offline(self.project)
            return
        conninfo = args.scratch
        dbname = "sqlbundle_import"
        try:
            if conninfo is None:
                self.server = PrivateServer(args.pgbin)
                conninfo = self.server.start()
            else:
                dbname = "sqlbundle_import_%d_%s" % (os.getpid(),
                                                     os.urandom(4).hex())
            self.engine = Capture(self.project, conninfo, dbname)
        except ImportFailure:
            raise
        except Exception as e:
            raise ImportFailure("could not create a scratch database on "
                                "the server (%s): %s" % (
                                    "--scratch" if args.scratch else
                                    "private", describe(e)))

    def close(self):
        """Drop the scratch database and stop the private server, on every
        path."""
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # let it finish
        if isinstance(self.engine, Capture):
            try:
                self.engine.drop()
            except Exception as e:
                sys.stderr.write("warning: could not drop the scratch "
                                 "database %s: %s\n" % (self.engine.dbname,
                                                         describe(e)))
        if self.server is not None:
            self.server.stop()

    def send_chain(self, order):
        o, p = self.out, self.project
        for rid in order:
            rev = p.revs[rid]
            line, downline = assign_lines(rev.path)
            o.rec("node", rid)
            o.rec("parents", ",".join(p.parents(rev)))
            o.rec("message", (rev.doc or "").split("\n")[0].strip())
            o.rec("source", p.rel(rev.path))
            o.rec("line", line)
            o.rec("downline", downline)
        o.rec("chain", len(order))
        o.flush()

    def send_phase(self, tag, rid, ph):
        o = self.out
        o.rec(tag, rid)
        if ph.missing:
            o.rec("missing")
            return
        for s in ph.stmts:
            o.rec("sql", s)
        if ph.autocommit:
            o.rec("autocommit")
        for s in ph.refused:
            o.rec("refused", s)
        if ph.reads is not None:
            o.rec("read", ph.reads)
        if ph.clock:
            o.rec("volatile", ph.clock)
        if ph.error:
            o.rec("fail", ph.error)
        o.flush()

    def upgrade(self, rid):
        rev = self.project.revs[rid]
        ph = self.engine.phase(rev, "upgrade")
        if ph.missing:
            raise ImportFailure("%s: revision %s has no upgrade()" % (
                self.project.rel(rev.path), rid))
        if ph.error:
            raise ImportFailure("revision %s: upgrade() failed: %s" % (
                rid, ph.error))
        return ph

    def run(self):
        p = self.project
        order = p.order(self.args.to)
        self.send_chain(order)
        self.start()
        ups = []
        for rid in order:
            rev = p.revs[rid]
            ph = self.upgrade(rid)
            ups.append(ph)
            self.send_phase("up", rid, ph)
            if rev.dependencies:
                self.out.rec("note", "%s: depends_on %s is not kept "
                             "(sqlbundle revisions have parents only)" % (
                                 p.rel(rev.path), rev.dependencies))
        # From the head down, each downgrade in the state Alembic runs it
        # in; below one that did not run, a database rebuilt from the SQL
        # recorded so far.
        online = isinstance(self.engine, Capture)
        in_state = True
        for i in reversed(range(len(order))):
            rev = p.revs[order[i]]
            if online and not in_state:
                try:
                    self.engine.rebuild(ups[:i + 1])
                except Exception as e:
                    raise ImportFailure(
                        "could not rebuild the scratch database below "
                        "revision %s from the recorded SQL: %s" % (
                            order[i + 1], describe(e)))
                in_state = True
            ph = self.engine.phase(rev, "downgrade")
            self.send_phase("down", rev.revision, ph)
            if ph.missing or ph.error:
                in_state = False
        self.out.rec("done", len(order))


class PrivateServer:
    """A throwaway PostgreSQL in a temporary folder, on a unix socket only;
    as root it runs as the "postgres" user (initdb refuses root)."""

    def __init__(self, pgbin):
        self.bin = pgbin or self.find_bin()
        self.dir = None
        if self.bin is None:
            raise ImportFailure(
                "no PostgreSQL server programs (initdb, pg_ctl) found for "
                "a private scratch server: pass --scratch CONNINFO (a "
                "server where the import may create and drop a scratch "
                "database), or --offline")

    @staticmethod
    def find_bin():
        env = os.environ.get("PGBIN")
        cands = [env] if env else []
        base = "/usr/lib/postgresql"
        if not env and os.path.isdir(base):
            vers = sorted((d for d in os.listdir(base) if d.isdigit()),
                          key=int, reverse=True)
            cands += [os.path.join(base, v, "bin") for v in vers]
        initdb = shutil.which("initdb")
        if initdb and not env:
            cands.append(os.path.dirname(initdb))
        for c in cands:
            if c and os.access(os.path.join(c, "initdb"), os.X_OK) and \
                    os.access(os.path.join(c, "pg_ctl"), os.X_OK):
                return c
        return None

    def as_owner(self, argv):
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--"] + argv
        return argv

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="sqlbundle-import.")
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = os.path.join(self.dir, "data")
        log = os.path.join(self.dir, "server.log")
        r = subprocess.run(self.as_owner([
            os.path.join(self.bin, "initdb"), "-D", data, "-U", "postgres",
            "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"]),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise ImportFailure("initdb of the private scratch server "
                                "failed: %s" % r.stdout.decode(
                                    "utf-8", "replace").strip()[-300:])
        opts = "-c listen_addresses='' -c unix_socket_directories='%s' " \
               "-c port=5432 -c fsync=off -c full_page_writes=off " \
               "-c synchronous_commit=off" % self.dir
        r = subprocess.run(self.as_owner([
            os.path.join(self.bin, "pg_ctl"), "-D", data, "-l", log, "-o",
            opts, "-w", "-t", "120", "start"]), stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, start_new_session=True)
        if r.returncode != 0:
            raise ImportFailure("the private scratch server did not start: "
                                "%s" % r.stderr.decode("utf-8",
                                                       "replace").strip())
        return "host=%s port=5432 user=postgres dbname=postgres" % self.dir

    def stop(self):
        if self.dir is None:
            return
        data = os.path.join(self.dir, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            subprocess.run(self.as_owner([
                os.path.join(self.bin, "pg_ctl"), "-D", data, "-m",
                "immediate", "-w", "stop"]), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--to")
    ap.add_argument("--offline", action="store_true")
    ap.add_argument("--scratch")
    ap.add_argument("--pgbin")
    args = ap.parse_args()
    # sqlbundle stopped or was stopped: clean up as for Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(
        KeyboardInterrupt()))
    out = Out()
    imp = None
    rc = 0
    try:
        try:
            import alembic      # noqa: F401
            import sqlalchemy   # noqa: F401
            if not args.offline:
                import psycopg2     # noqa: F401
        except ImportError as e:
            raise ImportFailure("%s: %s (pick the interpreter of the "
                                "project's virtualenv with --python)" % (
                                    sys.executable, describe(e)))
        imp = Importer(args, out)
        imp.run()
    except ImportFailure as e:
        out.rec("error", str(e))
        rc = 1
    except (KeyboardInterrupt, BrokenPipeError):
        rc = 130
    finally:
        try:
            if imp is not None:
                imp.close()
        except KeyboardInterrupt:
            rc = 130
        try:
            out.flush()
        except BrokenPipeError:
            rc = rc or 130
    return rc


if __name__ == "__main__":
    sys.exit(main())
