#!/usr/bin/env bats
# The modules run inside sshd and every NSS client: they must export their
# entry points and nothing else (no lib/ or dependency symbols to clash).
load helpers

exported() {
	nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }'
}

# Fails naming the first exported symbol without the prefix.
only_prefix() {	# file prefix
	run exported "$1"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	for sym in $output; do
		[[ "$sym" == "$2"* ]] || { echo "leaked: $sym"; return 1; }
	done
}

@test "pam_hoop.so exports only pam_sm_* entry points" {
	only_prefix "$HOOP_BUILD/pam_hoop.so" pam_sm_
	for want in authenticate setcred acct_mgmt open_session close_session; do
		grep -qx "pam_sm_$want" <<<"$output"
	done
}

@test "libnss_hoop.so.2 exports only _nss_hoop_* entry points" {
	only_prefix "$HOOP_BUILD/libnss_hoop.so.2" _nss_hoop_
	grep -qx _nss_hoop_getpwnam_r <<<"$output"
	grep -qx _nss_hoop_initgroups_dyn <<<"$output"
}

@test "libnss_hoop.so.2 carries the soname glibc loads" {
	run sh -c "readelf -d '$HOOP_BUILD/libnss_hoop.so.2' | grep SONAME"
	[[ "$output" == *"[libnss_hoop.so.2]"* ]]
}

@test "the modules are linked with full RELRO" {
	for m in pam_hoop.so libnss_hoop.so.2; do
		readelf -d "$HOOP_BUILD/$m" | grep -q BIND_NOW
		readelf -l "$HOOP_BUILD/$m" | grep -q GNU_RELRO
	done
}
