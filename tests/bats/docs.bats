#!/usr/bin/env bats
# The manual pages say everything there is: every hoop.conf key, every
# hoopctl command, a page for each program and module installed, and
# pages that man renders without warnings.
load helpers

@test "every key hoop.conf accepts is documented in hoop.conf(5)" {
	keys=$(grep -o 'CFG_[A-Z_]*("[a-z_]*"' "$HOOP_SRC/lib/config.c" | sed 's/.*("//; s/"$//' | sort -u)
	[ "$(wc -l <<<"$keys")" -gt 60 ]
	missing=
	for k in $keys; do
		grep -qE "^\.(B|BI|BR) \"?$k( |\"|\$)" "$HOOP_SRC/man/hoop.conf.5" || missing="$missing $k"
	done
	[ -z "$missing" ] || { echo "undocumented:$missing"; false; }
}

@test "every hoopctl command is documented in hoopctl(8)" {
	run "$HOOPCTL" --help
	[ "$status" -eq 0 ]
	cmds=$(sed -n 's/^ *\(usage: \)\{0,1\}hoopctl \([a-z]*\).*/\2/p' <<<"$output" | grep -v '^$' | sort -u)
	[ "$(wc -l <<<"$cmds")" -ge 12 ]
	missing=
	for c in $cmds; do
		grep -qE "^(\.B|\.BR|\\\\fB)[ \"]*$c\b" "$HOOP_SRC/man/hoopctl.8" || missing="$missing $c"
	done
	[ -z "$missing" ] || { echo "undocumented:$missing"; false; }
}

@test "make install ships a manual page for every program and module" {
	run make -s -C "$HOOP_SRC" B="${HOOP_BUILD#"$HOOP_SRC"/}" install DESTDIR="$T/root" PREFIX=/usr
	[ "$status" -eq 0 ]
	for page in man1/hoop-ssh.1 man1/hoop-askpass.1 man1/hoop-pgwrap.1 \
	    man1/hoop-kubewrap.1 man5/hoop.conf.5 man8/hoopctl.8 \
	    man8/hoop-shell.8 man8/pam_hoop.8 man8/nss_hoop.8; do
		[ -f "$T/root/usr/share/man/$page" ] || { echo "no $page"; false; }
	done
	for prog in "$T"/root/usr/bin/* "$T"/root/usr/sbin/*; do
		name=$(basename "$prog")
		ls "$T"/root/usr/share/man/man[18]/"$name".[18] >/dev/null 2>&1 ||
		    { echo "no page for $name"; false; }
	done
}

@test "every page renders without warnings" {
	for page in "$HOOP_SRC"/man/*.[158]; do
		run bash -c "MANWIDTH=80 man --warnings -l '$page' 2>&1 >/dev/null"
		[ -z "$output" ] || { echo "$page: $output"; false; }
	done
}
