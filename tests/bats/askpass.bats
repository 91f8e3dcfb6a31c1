#!/usr/bin/env bats
bats_require_minimum_version 1.5.0
# hoop-askpass answers pam_hoop's prompts part by part, and nothing else.
load helpers

ASKPASS=$HOOP_BUILD/hoop-askpass

# Reassembles a token the way pam_hoop does, from askpass's answers.
reassemble() {
	local part=1 out="" ans
	while :; do
		ans=$("$ASKPASS" "OIDC token (part $part): ") || return 1
		if [[ "$ans" == *'\' ]]; then
			out+=${ans%\\}
			part=$((part + 1))
		else
			out+=$ans
			break
		fi
	done
	printf '%s' "$out"
}

@test "a 2 KB token comes back in parts under the 1023-byte client limit" {
	export HOOP_TOKEN=$(head -c 1600 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=' | cut -c1-2100)
	run "$ASKPASS" "OIDC token (part 1): "
	[ "$status" -eq 0 ]
	[ "${#output}" -le 1023 ]
	[[ "$output" == *'\' ]]
	run reassemble
	[ "$output" = "$HOOP_TOKEN" ]
}

@test "an 8 KB token from a file reassembles exactly" {
	head -c 6200 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=' | cut -c1-8192 >"$T/token"
	echo >>"$T/token"
	export HOOP_TOKEN_FILE=$T/token
	run reassemble
	[ "$output" = "$(head -n1 "$T/token")" ]
	[ "${#output}" -eq 8192 ]
}

@test "the account prefix of newer OpenSSH prompts is understood" {
	export HOOP_TOKEN=aaa.bbb.ccc
	run "$ASKPASS" "(deploy@127.0.0.1) OIDC token (part 1): "
	[ "$status" -eq 0 ]
	[ "$output" = aaa.bbb.ccc ]
	run "$ASKPASS" "(deploy@127.0.0.1) Password: "
	[ "$status" -eq 1 ]
}

@test "a short token is one part without a continuation mark" {
	export HOOP_TOKEN=aaa.bbb.ccc
	run "$ASKPASS" "OIDC token (part 1): "
	[ "$output" = aaa.bbb.ccc ]
}

@test "a part past the end of the token is refused" {
	export HOOP_TOKEN=aaa.bbb.ccc
	run "$ASKPASS" "OIDC token (part 2): "
	[ "$status" -eq 1 ]
	[ -z "${lines[0]##*asked for part 2*}" ]
}

@test "host key questions and other prompts get no answer" {
	export HOOP_TOKEN=aaa.bbb.ccc
	# Nothing on stdout, which is what ssh would take as the answer.
	run --separate-stderr "$ASKPASS" "Are you sure you want to continue connecting (yes/no/[fingerprint])? "
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	run --separate-stderr "$ASKPASS" "deploy@127.0.0.1's password: "
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	run "$ASKPASS" "OIDC token (part 1): trailing"
	[ "$status" -eq 1 ]
}

@test "no token configured is a clear error" {
	unset HOOP_TOKEN HOOP_TOKEN_FILE
	run "$ASKPASS" "OIDC token (part 1): "
	[ "$status" -eq 1 ]
	[[ "$output" == *HOOP_TOKEN* ]]
}
