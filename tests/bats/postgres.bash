# A throwaway PostgreSQL server for the tests: the Debian package's
# binaries (/usr/lib/postgresql/VERSION/bin, the newest installed), a
# cluster of its own in a temporary directory, run by an unprivileged
# user (the server refuses root), listening on a free loopback port and
# on a private socket directory. Nothing of the host's PostgreSQL set-up
# (clusters, /etc/postgresql, /var/run/postgresql) is used or touched.
#
#   pg_start [HBA_LINE...]
#       initdb and start. pg_hba.conf is one line letting the superuser
#       "postgres" in over the socket with trust (the helper's own door),
#       then the caller's lines in order; anything they do not match is
#       refused. Sets:
#         PG_BIN      the server's bin directory (psql, pg_ctl...)
#         PG_DIR      the temporary directory: data/, sock/, log
#         PG_HOST     127.0.0.1
#         PG_PORT     the TCP port (also the socket's number)
#         PG_SOCKDIR  the socket directory: mode 0700, so only the
#                     server's owner and root can connect there; other
#                     users connect over TCP
#       Set before calling: PG_OWNER (the server's user, default nobody),
#       PG_CONF_EXTRA (lines appended to postgresql.conf).
#   pg_sql SQL [DB]   runs SQL as postgres over the socket, in DB
#                     (default postgres), with psql -X -At stopping at
#                     the first error, and prints the result
#   pg_role NAME METHOD [PASSWORD]
#                     a login role whose password is stored for METHOD
#                     (scram-sha-256 or md5; none for trust), owning a
#                     database of the same name
#   pg_log            prints the server's log
#   pg_stop           stops the server (immediate shutdown, then SIGKILL
#                     of its postmaster pid if needed) and removes
#                     PG_DIR; safe to call twice or after a failed start
#
# Call pg_stop from teardown (or teardown_file when the server is shared
# by a whole file) so that a failing test never leaves a server behind.
# One cluster takes about a second to make.

# shellcheck source=tests/bats/net.bash
. "${BASH_SOURCE[0]%/*}/net.bash"

PG_OWNER=${PG_OWNER:-nobody}
PG_HOST=127.0.0.1

pg_bin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && [ -x "$d/postgres" ] || {
		echo "postgres.bash: no server in /usr/lib/postgresql (install the postgresql package)" >&2
		return 1
	}
	echo "$d"
}

# Runs a server binary as the owner, from a directory it may enter.
pg_as_owner() {
	(cd "$PG_DIR" && runuser -u "$PG_OWNER" -- "$@")
}

pg_start() {
	local line tries
	PG_BIN=$(pg_bin) || return 1
	PG_DIR=$(mktemp -d /tmp/hoop-pg.XXXXXX) || return 1
	PG_SOCKDIR=$PG_DIR/sock
	mkdir -m 0700 "$PG_SOCKDIR"
	chown -R "$PG_OWNER:" "$PG_DIR"
	chmod 0755 "$PG_DIR"
	if ! pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres \
	    -A trust -E UTF8 --locale=C --no-sync --no-instructions \
	    >"$PG_DIR/initdb.log" 2>&1; then
		cat "$PG_DIR/initdb.log" >&2
		pg_stop
		return 1
	fi
	{
		echo "local all postgres trust"
		for line in "$@"; do
			echo "$line"
		done
	} >"$PG_DIR/data/pg_hba.conf"
	for tries in 1 2 3; do
		PG_PORT=$(free_port) || break
		cat >>"$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKDIR'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 40
${PG_CONF_EXTRA:-}
CONF
		if pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" \
		    -l "$PG_DIR/log" -w -t 30 start >/dev/null 2>&1; then
			pg_sql "SELECT 1" >/dev/null && return 0
		fi
		# Most likely the port was taken meanwhile: try another.
		echo "postgres.bash: start $tries failed:" >&2
		tail -n 5 "$PG_DIR/log" >&2
		pg_halt
	done
	pg_stop
	return 1
}

pg_sql() {
	"$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$PG_SOCKDIR" \
		-p "$PG_PORT" -U postgres -d "${2:-postgres}" -c "$1"
}

pg_role() {
	local name=$1 method=$2 pw=${3:-}
	case $method in
	scram-sha-256|md5)
		pg_sql "SET password_encryption = '$method'; CREATE ROLE \"$name\" LOGIN PASSWORD '${pw//\'/\'\'}'" ;;
	*)
		pg_sql "CREATE ROLE \"$name\" LOGIN" ;;
	esac && pg_sql "CREATE DATABASE \"$name\" OWNER \"$name\""
}

pg_log() {
	cat "$PG_DIR/log" 2>/dev/null
}

# Stops the server only, keeping PG_DIR.
pg_halt() {
	local pid
	[ -n "${PG_DIR:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
	pid=$(head -n 1 "$PG_DIR/data/postmaster.pid")
	pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 20 \
		stop >/dev/null 2>&1 && return 0
	# The pid is the postmaster's only if it is still the owner's postgres.
	if [ -n "$pid" ] && [ "$(ps -o user= -p "$pid" 2>/dev/null)" = "$PG_OWNER" ]; then
		kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$PG_DIR/data/postmaster.pid"
}

pg_stop() {
	[ -n "${PG_DIR:-}" ] || return 0
	pg_halt
	rm -rf "$PG_DIR"
	PG_DIR=
}
