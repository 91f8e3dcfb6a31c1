# A stand-in for the CI runner's ID token endpoint on loopback (plain
# HTTP, as the runner serves it): socat hands each connection to
# ci-runtime-handler.sh, which checks the bearer token and the audience
# parameter the way the GitHub Actions runtime does and answers
# {"count": 1, "value": TOKEN}.
#
#   runtime_start DIR BEARER AUDIENCE   (RUNTIME_URL is the request URL)
#   runtime_token TOKEN                 what the next requests get
#   runtime_requests                    one line per request seen
#   runtime_stop

# shellcheck source=tests/bats/net.bash
. "${BASH_SOURCE[0]%/*}/net.bash"

runtime_start() {
	RUNTIME_DIR=$1
	mkdir -p "$RUNTIME_DIR"
	printf '%s' "$2" >"$RUNTIME_DIR/bearer"
	printf '%s' "$3" >"$RUNTIME_DIR/audience"
	: >"$RUNTIME_DIR/requests"
	RUNTIME_PORT=$(free_port)
	RUNTIME_URL="http://127.0.0.1:$RUNTIME_PORT/_apis/distributedtask/token?api-version=2.0"
	RUNTIME_DIR=$RUNTIME_DIR socat -T 5 \
		"TCP-LISTEN:$RUNTIME_PORT,bind=127.0.0.1,reuseaddr,fork" \
		SYSTEM:"exec bash ${BASH_SOURCE[0]%/*}/ci-runtime-handler.sh" \
		2>"$RUNTIME_DIR/socat.log" &
	echo $! >"$RUNTIME_DIR/pid"
	export RUNTIME_DIR RUNTIME_PORT RUNTIME_URL
	for _ in $(seq 100); do
		ss -Hltn "sport = :$RUNTIME_PORT" | grep -q . && return 0
		sleep 0.05
	done
	echo "runtime endpoint did not start"; cat "$RUNTIME_DIR/socat.log"
	return 1
}

runtime_token() {
	printf '%s' "$1" >"$RUNTIME_DIR/token"
}

runtime_requests() {
	cat "$RUNTIME_DIR/requests"
}

runtime_stop() {
	[ -n "${RUNTIME_DIR:-}" ] && [ -f "$RUNTIME_DIR/pid" ] || return 0
	kill "$(cat "$RUNTIME_DIR/pid")" 2>/dev/null
	rm -f "$RUNTIME_DIR/pid"
}
