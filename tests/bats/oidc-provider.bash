# A scripted SSO issuer for hoop-ssh login: tests/bats/oidc-provider.py
# (python3, http.server over TLS) on loopback, with discovery, JWKS, and
# the device authorization and token endpoints of RFC 8628.
#
#   provider_setup DIR        CA/server certificate, signing key, port
#                             (PROVIDER_URL, PROVIDER_CA, PROVIDER_KEY)
#   provider_config JSON      the script (see oidc-provider.py), merged
#                             over the defaults: client hoop-cli,
#                             interval 1, expires_in 30, one pending poll
#                             then success
#   provider_id_token FILE    the id_token a successful poll returns
#   provider_start / provider_stop
#   provider_log              requests seen, one JSON object a line

# shellcheck source=tests/bats/net.bash
. "${BASH_SOURCE[0]%/*}/net.bash"

PROVIDER_DEFAULTS='{"client_id":"hoop-cli","interval":1,"expires_in":30,"complete":true,"steps":["pending","success"]}'

provider_setup() {
	PROVIDER_DIR=$1
	mkdir -p "$PROVIDER_DIR"
	PROVIDER_PORT=$(free_port)
	PROVIDER_URL=https://127.0.0.1:$PROVIDER_PORT
	PROVIDER_CA=$PROVIDER_DIR/cert.pem
	PROVIDER_KEY=$PROVIDER_DIR/signing.pem
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PROVIDER_DIR/key.pem" -out "$PROVIDER_CA" -days 2 \
		-subj /CN=hoop-test-sso -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
	chmod 0644 "$PROVIDER_CA"
	"$HOOP_BUILD/tests/hoop-mint-token" keygen rsa "$PROVIDER_KEY"
	"$HOOP_BUILD/tests/hoop-mint-token" jwks "$PROVIDER_KEY:sso-1" >"$PROVIDER_DIR/jwks.json"
	: >"$PROVIDER_DIR/id_token"
	provider_config '{}'
	export PROVIDER_DIR PROVIDER_PORT PROVIDER_URL PROVIDER_CA PROVIDER_KEY
}

provider_config() {
	jq -c -n --argjson d "$PROVIDER_DEFAULTS" --argjson c "$1" '$d + $c' \
		>"$PROVIDER_DIR/config.json.tmp"
	mv "$PROVIDER_DIR/config.json.tmp" "$PROVIDER_DIR/config.json"
	: >"$PROVIDER_DIR/requests.log"
}

provider_id_token() {
	cp "$1" "$PROVIDER_DIR/id_token"
}

provider_start() {
	python3 "${BASH_SOURCE[0]%/*}/oidc-provider.py" "$PROVIDER_DIR" \
		"$PROVIDER_PORT" 2>"$PROVIDER_DIR/server.log" &
	echo $! >"$PROVIDER_DIR/pid"
	for _ in $(seq 100); do
		ss -Hltn "sport = :$PROVIDER_PORT" | grep -q . && return 0
		sleep 0.05
	done
	echo "provider did not start"; cat "$PROVIDER_DIR/server.log"
	return 1
}

provider_stop() {
	[ -n "${PROVIDER_DIR:-}" ] && [ -f "$PROVIDER_DIR/pid" ] || return 0
	kill "$(cat "$PROVIDER_DIR/pid")" 2>/dev/null
	rm -f "$PROVIDER_DIR/pid"
}

provider_log() {
	cat "$PROVIDER_DIR/requests.log"
}
