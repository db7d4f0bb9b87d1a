#!/bin/sh
# A throwaway PostgreSQL in a folder: initdb + pg_ctl on a private unix
# socket, no TCP. As root the server runs as the unprivileged "postgres"
# user (initdb refuses root).
#
#   scripts/pgserver.sh start DIR    print the environment to use it
#   scripts/pgserver.sh stop DIR     stop it and remove DIR
#   scripts/pgserver.sh restart DIR  immediate restart (crash simulation)
set -eu

cmd=${1:?usage: pgserver.sh start|stop|restart DIR}
dir=${2:?usage: pgserver.sh start|stop|restart DIR}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
port=${SB_PGPORT:-54329}

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case $cmd in
start)
	# The server user must reach the folder, and a unix socket path must
	# stay under 108 bytes: otherwise the folder is a link to one in /tmp.
	if [ ! -e "$dir" ]; then
		mkdir -p "$(dirname "$dir")"
		abs=$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")
		if [ ${#abs} -gt 60 ] || { [ "$(id -u)" -eq 0 ] &&
		    ! runuser -u postgres -- test -x "$(dirname "$abs")"; }; then
			ln -s "$(mktemp -d /tmp/sqlbundle-pg.XXXXXX)" "$dir"
		else
			mkdir "$dir"
		fi
	fi
	dir=$(cd "$dir" && pwd -P)
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		mkdir -p "$dir/data" "$dir/sock"
		[ "$(id -u)" -eq 0 ] && chown postgres: "$dir" "$dir/data" "$dir/sock"
		as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres \
		    --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		    { cat "$dir/initdb.log" >&2; exit 1; }
		cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir/sock'
port = $port
fsync = on
max_connections = 40
CONF
	fi
	if ! as_owner "$PGBIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
		    -w -t 600 start >/dev/null ||
		    { cat "$dir/server.log" >&2; exit 1; }
	fi
	echo "export PGHOST='$dir/sock' PGPORT=$port PGUSER=postgres PGDATABASE=postgres"
	;;
stop)
	real=$(cd "$dir" 2>/dev/null && pwd -P) || exit 0
	[ -d "$real/data" ] &&
	    as_owner "$PGBIN/pg_ctl" -D "$real/data" -m fast -w -t 600 stop >/dev/null 2>&1
	rm -rf "$real"
	[ -L "$dir" ] && rm -f "$dir"
	exit 0
	;;
restart)
	dir=$(cd "$dir" && pwd -P)
	# -t: a limit, not a wait: crash recovery on a loaded machine can
	# take longer than pg_ctl's default minute.
	as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 600 \
	    -l "$dir/server.log" restart >/dev/null
	;;
*)
	echo "usage: pgserver.sh start|stop|restart DIR" >&2
	exit 2
	;;
esac
