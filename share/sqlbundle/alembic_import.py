"""Render an Alembic project's revisions as SQL for `sqlbundle import alembic`.

This is the Python side of a narrow seam: `sqlbundle` runs this script once
per import, in the interpreter the user picked (--python), and reads the
revisions from its standard output. The C program owns everything else:
validating ids, composing and parsing the revision files, drift, writing.

Usage (by sqlbundle, not by hand):
    alembic_import.py --config INI [--to REV] [--offline]
                      [--scratch CONNINFO] [--pgbin DIR]

The project's env.py is NOT run (it would connect to the real database):
the script directory is loaded as Alembic loads it (alembic.ini's
script_location, prepend_sys_path, version_locations), and each revision's
upgrade() and downgrade() are called here, under Operations over a
MigrationContext, either online against a scratch database created here
(capture, the default) or offline with as_sql (--offline).

Output: records, each "<tag> <length>\\n<length bytes>\\n", UTF-8:
    rev ID            a revision starts; then, in any order:
    parents IDS       comma-separated parent ids, empty for the base
    message TEXT      first line of the docstring (Alembic's -m)
    source PATH       the version file, relative to the folder of the ini
    transactional B   "true" or "false"
    upgrade SQL       the upgrade statements, each ended by ';'
    downgrade SQL     absent when the revision is irreversible
    warn TEXT         one warning (several allowed)
    end ""            the revision is complete
    error TEXT        fatal: nothing may be written; exit status 1
    done N            all N revisions were sent; exit status 0
Records of one revision come together; revisions come parents first.
Anything the revision code prints goes to stderr, never into the records.
"""
import argparse
import heapq
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the user's project

# Statements that end or start a transaction: such a revision cannot run in
# one transaction, so it becomes transactional: false and they are dropped
# (sqlbundle-apply then runs each statement on its own).
TX_STMT = re.compile(r"^\s*(COMMIT|END|ROLLBACK|ABORT|BEGIN|START\s+TRANSACTION)"
                     r"(\s+(WORK|TRANSACTION))?\s*;?\s*$", re.I)
CONCURRENTLY = re.compile(r"\bCONCURRENTLY\b", re.I)
VERSION_TABLE = re.compile(r"\balembic_version\b", re.I)
FROZEN = "rendered for an empty database at import time; a signed " \
         "bundle freezes that choice"


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

    def rec(self, tag, text):
        data = text.encode("utf-8", "surrogateescape")
        self.f.write(b"%s %d\n" % (tag.encode(), len(data)))
        self.f.write(data + b"\n")

    def flush(self):
        self.f.flush()


def last_line(exc):
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text.splitlines()[-1] if text else type(exc).__name__


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


class Project:
    def __init__(self, ini):
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        self.ini = os.path.abspath(ini)
        self.base = os.path.dirname(self.ini)
        if not os.path.isfile(self.ini):
            raise ImportFailure("%s: no such file (pass --config FILE)" % ini)
        cfg = Config(self.ini)
        try:
            self.script = ScriptDirectory.from_config(cfg)
        except Exception as e:
            raise ImportFailure("%s: %s" % (ini, last_line(e)))
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
                raise ImportFailure("%s: %s" % (ini, last_line(e)))
            raise ImportFailure("%s:%d: %s" % (where[0], where[1],
                                               last_line(e)))
        for r in self.revs.values():
            self.paths[os.path.realpath(r.path)] = self.rel(r.path)

    def rel(self, path):
        return os.path.relpath(os.path.realpath(path), os.path.realpath(self.base))

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
        """Apply order (parents first, ties by id, as sqlbundle orders),
        limited to `to` and its ancestors."""
        want = set(self.revs)
        if to is not None:
            try:
                target = self.script.get_revision(to)
            except Exception as e:
                raise ImportFailure("--to %s: %s" % (to, last_line(e)))
            if target is None:
                raise ImportFailure("--to %s: no such revision" % to)
            want, todo = set(), [target.revision]
            while todo:
                rid = todo.pop()
                if rid not in want:
                    want.add(rid)
                    todo.extend(self.parents(self.revs[rid]))
        children = {rid: [] for rid in want}
        waiting = {}
        for rid in want:
            ps = [p for p in self.parents(self.revs[rid]) if p in want]
            waiting[rid] = len(ps)
            for p in ps:
                children[p].append(rid)
        ready = [rid for rid, n in waiting.items() if n == 0]
        heapq.heapify(ready)
        out = []
        while ready:
            rid = heapq.heappop(ready)
            out.append(rid)
            for c in children[rid]:
                waiting[c] -= 1
                if waiting[c] == 0:
                    heapq.heappush(ready, c)
        heads = sorted(rid for rid in want if not children[rid])
        bases = sorted(rid for rid in want if not self.parents(self.revs[rid]))
        if len(heads) > 1:
            raise ImportFailure(
                "the Alembic chain has %d heads: %s (sqlbundle keeps one: "
                "merge them with \"alembic merge heads\")" % (
                    len(heads), ", ".join("%s (%s)" % (h, self.rel(
                        self.revs[h].path)) for h in heads)))
        if len(bases) > 1:
            raise ImportFailure(
                "the Alembic chain has %d bases: %s (sqlbundle keeps one)" % (
                    len(bases), ", ".join("%s (%s)" % (b, self.rel(
                        self.revs[b].path)) for b in bases)))
        return out

    def ancestors(self, rid):
        seen, todo = set(), list(self.parents(self.revs[rid]))
        while todo:
            p = todo.pop()
            if p not in seen:
                seen.add(p)
                todo.extend(self.parents(self.revs[p]))
        return seen


class Phase:
    """What one upgrade() or downgrade() call produced."""

    def __init__(self):
        self.stmts = []
        self.nontx = False
        self.warnings = []
        self.reads = None       # "file:line" of the first read, or "?"
        self.error = None       # (exception, "file:line: text")
        self.missing = False
        self.clock = None       # "uuid4() at line N": a value of the moment

    def note_read(self, where):
        if self.reads is None:
            self.reads = where or "?"


def user_frame(skip_prefixes=("sqlalchemy", "psycopg2")):
    """The first caller frame outside SQLAlchemy and the driver."""
    f = sys._getframe(2)
    while f is not None:
        mod = f.f_globals.get("__name__", "")
        if not mod.startswith(skip_prefixes) and f.f_globals is not globals():
            return f
        f = f.f_back
    return None


def is_ours(frame):
    if frame is None:
        return True
    mod = frame.f_globals.get("__name__", "")
    return mod.startswith("alembic") or frame.f_globals is globals()


def join_sql(stmts):
    """Each statement ended by ';' (none added when it has one; on a line
    of its own when the last line is a comment), a blank line between."""
    parts = []
    for s in stmts:
        s = s.strip("\n")
        t = s.rstrip()
        if not t:
            continue
        if not t.endswith(";"):
            last = t.rsplit("\n", 1)[-1]
            t += "\n;" if "--" in last else ";"
        parts.append(t)
    return "\n\n".join(parts) + "\n" if parts else ""


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
        mod = frame.f_globals.get("__name__", "")
        return not fn.startswith(stdlib) and frame.f_globals is not \
            globals() and not mod.startswith(("sqlalchemy", "alembic",
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

    def __init__(self, project):
        self.project = project

    def call(self, rev, name, phase, ctx_factory):
        from alembic.operations import Operations

        fn = getattr(rev.module, name, None)
        if fn is None:
            phase.missing = True
            return phase
        ctx = ctx_factory(phase)
        try:
            with Operations.context(ctx):
                sys.setprofile(clock_watch(phase, self.project))
                try:
                    self.run(ctx, fn, phase)
                finally:
                    sys.setprofile(None)
        except Exception as e:
            where = locate(e, self.project.paths)
            path = self.project.rel(rev.path)
            loc = "%s:%d" % where if where else path
            text = last_line(e)
            if isinstance(self, Offline) and ("MockConnection" in text or
                                              reflecting(e)):
                text = "StrictError: inspects the database (reflection), " \
                       "which --offline cannot do; use the capture mode"
            phase.error = (e, "%s: %s" % (loc, text))
        return phase


class Offline(Runner):
    def __init__(self, project):
        super().__init__(project)
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
            opts={"as_sql": True, "output_buffer": io.StringIO(),
                  "literal_binds": True, "transaction_per_migration": True})
        impl = ctx.impl

        def static_output(text):
            phase.stmts.append(text)

        def emit_commit():
            phase.nontx = True      # an autocommit_block()

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

    def phase(self, rev, name):
        return self.call(rev, name, Phase(), self.context)


class ReadTrap:
    """What execute() returns offline: any use of a result is an error."""

    def __getattr__(self, name):
        raise StrictError("reads query results (.%s), which --offline "
                          "cannot do; use the capture mode" % name)

    def __iter__(self):
        raise StrictError("reads query results, which --offline cannot do; "
                          "use the capture mode")


class Capture(Runner):
    """Online: each call runs against the scratch database; statements are
    recorded as the driver sent them (psycopg2's mogrify of the same
    statement and parameters)."""

    def __init__(self, project, conninfo):
        super().__init__(project)
        import psycopg2
        import psycopg2.extensions
        from sqlalchemy import event
        from sqlalchemy.engine import CursorResult

        self.psycopg2 = psycopg2
        self.admin_conninfo = conninfo
        self.dbname = "sqlbundle_import_%d_%s" % (os.getpid(),
                                                  os.urandom(4).hex())
        self.event = event
        self.phase_now = None
        self.in_sa = False
        self.engine = None
        self.conn = None
        runner = self

        class Cursor(psycopg2.extensions.cursor):
            def _raw(self, what):
                caller = sys._getframe(2).f_globals.get("__name__", "")
                if runner.phase_now is not None and not runner.in_sa and \
                        not caller.startswith(("sqlalchemy", "psycopg2")):
                    raise StrictError(
                        "runs SQL through the driver's cursor (%s), which "
                        "the import cannot record; use op.execute() or "
                        "op.get_bind()" % what)

            def execute(self, query, vars=None):
                self._raw("execute")
                return super().execute(query, vars)

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
                if runner.phase_now is not None:
                    f = user_frame()
                    if not is_ours(f):
                        runner.phase_now.note_read(runner.where(f))

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
            f = sys._getframe(1)
            mod = f.f_globals.get("__name__", "")
            if runner.phase_now is not None and \
                    not mod.startswith(("sqlalchemy", "alembic")):
                runner.phase_now.note_read(runner.where(f))
            return orig_rowcount.fget(result)

        CursorResult.rowcount = property(rowcount)
        admin = psycopg2.connect(conninfo)
        admin.autocommit = True
        try:
            with admin.cursor() as cur:
                cur.execute('CREATE DATABASE "%s" TEMPLATE template0 '
                            "ENCODING 'UTF8'" % self.dbname)
        finally:
            admin.close()
        self.connect()

    VERSION_DDL = "CREATE TABLE alembic_version (version_num varchar(32) " \
                  "NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY " \
                  "(version_num))"

    def where(self, frame):
        if frame is None:
            return None
        fn = os.path.realpath(frame.f_code.co_filename)
        if fn in self.project.paths:
            return "%s:%d" % (self.project.paths[fn], frame.f_lineno)
        return None

    def connect(self):
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        psycopg2, conninfo, dbname = self.psycopg2, self.admin_conninfo, \
            self.dbname
        cursor = self.Cursor
        self.engine = create_engine(
            "postgresql+psycopg2://", poolclass=NullPool, future=True,
            creator=lambda: psycopg2.connect(conninfo, dbname=dbname,
                                             cursor_factory=cursor))
        self.conn = self.engine.connect()
        ev = self.event
        ev.listen(self.conn, "before_cursor_execute", self.before, retval=True)
        ev.listen(self.conn, "after_cursor_execute", self.after)
        ev.listen(self.conn, "handle_error", self.on_error)
        ev.listen(self.conn, "commit", self.on_commit)
        # Revisions run where Alembic would have its table (not recorded).
        self.conn.exec_driver_sql(self.VERSION_DDL)
        self.conn.commit()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.engine.dispose()
            self.conn = None

    def recreate(self):
        """A fresh scratch database (to leave a branch that cannot be
        downgraded)."""
        self.close()
        admin = self.psycopg2.connect(self.admin_conninfo)
        admin.autocommit = True
        try:
            with admin.cursor() as cur:
                cur.execute('DROP DATABASE "%s"' % self.dbname)
                cur.execute('CREATE DATABASE "%s" TEMPLATE template0 '
                            "ENCODING 'UTF8'" % self.dbname)
        finally:
            admin.close()
        self.connect()

    def drop(self):
        self.close()
        admin = self.psycopg2.connect(self.admin_conninfo)
        admin.autocommit = True
        try:
            with admin.cursor() as cur:
                cur.execute('DROP DATABASE IF EXISTS "%s"' % self.dbname)
        finally:
            admin.close()

    # SQLAlchemy events ------------------------------------------------
    def before(self, conn, cursor, statement, parameters, context,
               executemany):
        self.in_sa = True
        ph = self.phase_now
        if ph is None:
            return statement, parameters
        dbapi = cursor.connection
        if TX_STMT.match(statement):
            ph.nontx = True
            return statement, parameters
        if dbapi.autocommit:
            ph.nontx = True
        elif CONCURRENTLY.search(statement) and not ph.nontx:
            ph.warnings.append(
                "%s outside an autocommit_block(): the revision is made "
                "transactional: false" % statement.strip().split("\n")[0][:60])
            ph.nontx = True
            # Run it outside a transaction, as the applier will.
            dbapi.commit()
            dbapi.autocommit = True
            self.forced_autocommit = True
        if context is not None and context.no_parameters:
            sent = [statement]
        elif executemany:
            sent = [cursor.mogrify(statement, p).decode("utf-8")
                    for p in parameters]
        else:
            sent = [cursor.mogrify(statement, parameters).decode("utf-8")]
        ph.stmts.extend(sent)
        return statement, parameters

    forced_autocommit = False

    def after(self, conn, cursor, statement, parameters, context,
              executemany):
        self.in_sa = False
        if self.forced_autocommit:
            cursor.connection.autocommit = False
            self.forced_autocommit = False

    def on_error(self, exc_context):
        self.in_sa = False
        if self.forced_autocommit:
            self.forced_autocommit = False
            try:
                exc_context.connection.connection.autocommit = False
            except Exception:
                pass

    def on_commit(self, conn):
        if self.phase_now is not None and self.in_body:
            self.phase_now.nontx = True     # autocommit_block()

    in_body = False

    # Running -----------------------------------------------------------
    def context(self, phase):
        from alembic.runtime.migration import MigrationContext
        return MigrationContext.configure(
            connection=self.conn, opts={"transaction_per_migration": True})

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
        if self.conn.in_transaction():
            self.conn.commit()

    def phase(self, rev, name):
        return self.call(rev, name, Phase(), self.context)


def tidy(project, rev, phase, warnings):
    """Drop Alembic's version-table and transaction statements."""
    out = []
    path = project.rel(rev.path)
    for s in phase.stmts:
        if TX_STMT.match(s):
            phase.nontx = True
            continue
        if VERSION_TABLE.search(s):
            warnings.append("%s: a statement on alembic_version left out "
                            "(sqlbundle-apply keeps that table): %s" % (
                                path, s.strip().split("\n")[0][:60]))
            continue
        out.append(s)
    phase.stmts = out


def concurrently_offline(project, rev, phase, warnings):
    if phase.nontx:
        return
    for s in phase.stmts:
        if CONCURRENTLY.search(s):
            warnings.append(
                "%s: %s outside an autocommit_block(): the revision is made "
                "transactional: false" % (project.rel(rev.path),
                                          s.strip().split("\n")[0][:60]))
            phase.nontx = True
            return


class Importer:
    def __init__(self, args, out):
        self.args = args
        self.out = out
        self.server = None
        self.project = Project(args.config)
        if args.offline:
            self.engine = Offline(self.project)
        else:
            conninfo = args.scratch
            try:
                if conninfo is None:
                    self.server = PrivateServer(args.pgbin)
                    conninfo = self.server.start()
                self.engine = Capture(self.project, conninfo)
            except Exception as e:
                if self.server is not None:
                    self.server.stop()
                if isinstance(e, ImportFailure):
                    raise
                raise ImportFailure("could not create a scratch database "
                                    "on the server (%s): %s" % (
                                        "--scratch" if args.scratch else
                                        "private", last_line(e)))
        self.applied = []       # ids applied to the scratch database
        self.down = {}          # id -> has a working downgrade

    def close(self):
        if isinstance(getattr(self, "engine", None), Capture):
            try:
                self.engine.drop()
            except Exception as e:
                sys.stderr.write("warning: could not drop the scratch "
                                 "database: %s\n" % last_line(e))
        if self.server is not None:
            self.server.stop()

    def fail_phase(self, rev, phase, what):
        raise ImportFailure("revision %s: %s() failed: %s" % (
            rev.revision, what, phase.error[1]))

    def move_to(self, rid):
        """Capture: make the scratch database hold exactly rid's ancestors."""
        want = self.project.ancestors(rid)
        extra = [a for a in self.applied if a not in want]
        if extra:
            if all(self.down.get(a) for a in extra):
                for a in reversed(extra):
                    ph = self.engine.phase(self.project.revs[a], "downgrade")
                    if ph.error:
                        self.fail_phase(self.project.revs[a], ph, "downgrade")
                    self.applied.remove(a)
            else:
                self.engine.recreate()
                self.applied = []
        for a in self.order:
            if a in want and a not in self.applied:
                ph = self.engine.phase(self.project.revs[a], "upgrade")
                if ph.error:
                    self.fail_phase(self.project.revs[a], ph, "upgrade")
                self.applied.append(a)

    def render(self, rev):
        """(upgrade Phase, downgrade Phase or None, warnings)."""
        p = self.project
        path = p.rel(rev.path)
        warnings = []
        online = isinstance(self.engine, Capture)
        if online:
            self.move_to(rev.revision)
        up = self.engine.phase(rev, "upgrade")
        if up.missing:
            raise ImportFailure("%s: revision %s has no upgrade()" % (
                path, rev.revision))
        if up.error:
            self.fail_phase(rev, up, "upgrade")
        down = self.engine.phase(rev, "downgrade")
        if online:
            self.applied.append(rev.revision)
        if down.error:
            warnings.append("downgrade() raised: %s; the revision is "
                            "irreversible" % down.error[1])
            if online and down.nontx:
                raise ImportFailure(
                    "%s: downgrade() raised after committing part of its "
                    "work: %s" % (path, down.error[1]))
            down = None
        elif down.missing:
            down = None
        again = None
        if down is not None:
            tidy(p, rev, down, warnings)
            if not down.stmts:
                down = None     # pass, or renders nothing: irreversible
        if online and down is not None:
            self.applied.remove(rev.revision)
            again = self.engine.phase(rev, "upgrade")
            if again.error:
                self.fail_phase(rev, again, "upgrade (after downgrade)")
            self.applied.append(rev.revision)
        elif not online:
            again = self.engine.phase(rev, "upgrade")
        self.down[rev.revision] = down is not None
        tidy(p, rev, up, warnings)
        if again is not None and not again.error:
            tidy(p, rev, again, [])
            if again.stmts != up.stmts:
                diff = next((a for a, b in zip(up.stmts, again.stmts)
                             if a != b), None)
                warnings.append(
                    "%s: revision %s renders differently on each run (%s): "
                    "%s" % (path, rev.revision, "e.g. " + diff.strip().split(
                        "\n")[0][:60] if diff else "statement count", FROZEN))
        if not online:
            concurrently_offline(p, rev, up, warnings)
        for ph in (up, down):
            if ph is None:
                continue
            warnings.extend("%s: %s" % (path, w) for w in ph.warnings)
            if ph.clock:
                warnings.append("%s: revision %s calls %s: %s" % (
                    path, rev.revision, ph.clock, FROZEN))
            if ph.reads:
                warnings.append("%s: revision %s reads the database (%s): "
                                "%s" % (path, rev.revision,
                                        ph.reads if ph.reads != "?" else
                                        "query results", FROZEN))
        return up, down, warnings

    def run(self):
        p = self.project
        self.order = p.order(self.args.to)
        n = 0
        for rid in self.order:
            rev = p.revs[rid]
            up, down, warnings = self.render(rev)
            if rev.dependencies:
                warnings.append("%s: depends_on %s is not kept (sqlbundle "
                                "revisions have parents only)" % (
                                    p.rel(rev.path), rev.dependencies))
            o = self.out
            o.rec("rev", rid)
            o.rec("parents", ",".join(p.parents(rev)))
            o.rec("message", (rev.doc or "").split("\n")[0].strip())
            o.rec("source", p.rel(rev.path))
            nontx = up.nontx or (down is not None and down.nontx)
            o.rec("transactional", "false" if nontx else "true")
            o.rec("upgrade", join_sql(up.stmts))
            if down is not None:
                o.rec("downgrade", join_sql(down.stmts))
            for w in warnings:
                o.rec("warn", w)
            o.rec("end", "")
            n += 1
        o = self.out
        o.rec("done", str(n))


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
                                    sys.executable, last_line(e)))
        imp = Importer(args, out)
        imp.run()
    except ImportFailure as e:
        out.rec("error", str(e))
        rc = 1
    except (KeyboardInterrupt, BrokenPipeError):
        rc = 130
    finally:
        if imp is not None:
            imp.close()
        try:
            out.flush()
        except BrokenPipeError:
            rc = rc or 130
    return rc


if __name__ == "__main__":
    sys.exit(main())
