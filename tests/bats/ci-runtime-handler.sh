# One HTTP request on stdin, one response on stdout (run by socat for
# tests/bats/ci-runtime.bash). Logs "METHOD PATH auth=ok|bad|none
# audience=VALUE" to $RUNTIME_DIR/requests; never the bearer itself.
set -u
read -r method target _ || exit 0
auth=none
while IFS= read -r line; do
	line=${line%$'\r'}
	[ -z "$line" ] && break
	case ${line,,} in
	authorization:*)
		value=${line#*:}; value=${value# }
		if [ "${value,,}" = "bearer $(tr 'A-Z' 'a-z' <"$RUNTIME_DIR/bearer")" ] &&
		    [ "${value#* }" = "$(cat "$RUNTIME_DIR/bearer")" ]; then
			auth=ok
		else
			auth=bad
		fi ;;
	esac
done
path=${target%%\?*} query=
[[ "$target" == *\?* ]] && query=${target#*\?}
audience=
IFS='&' read -ra params <<<"$query"
for p in "${params[@]}"; do
	case $p in
	audience=*) v=${p#audience=}; v=${v//+/ }; audience=$(printf '%b' "${v//%/\\x}") ;;
	esac
done
echo "$method $path auth=$auth audience=$audience" >>"$RUNTIME_DIR/requests"

respond() {	# status body
	printf 'HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
		"$1" "${#2}" "$2"
}

if [ "$method" != GET ] || [ "$path" != /_apis/distributedtask/token ]; then
	respond "404 Not Found" '{"message":"not found"}'
elif [ "$auth" != ok ]; then
	respond "401 Unauthorized" '{"message":"bad bearer token"}'
elif [ "$audience" != "$(cat "$RUNTIME_DIR/audience")" ]; then
	respond "400 Bad Request" '{"message":"unexpected audience"}'
else
	respond "200 OK" "{\"count\":1,\"value\":\"$(cat "$RUNTIME_DIR/token")\"}"
fi
