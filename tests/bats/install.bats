#!/usr/bin/env bats
# make install puts each part where Debian expects it, with the modes the
# trust model needs.
load helpers

@test "make install DESTDIR= PREFIX= lays out modules, programs, man pages, config" {
	run make -s -C "$HOOP_SRC" B="${HOOP_BUILD#"$HOOP_SRC"/}" install DESTDIR="$T/root" PREFIX=/usr
	[ "$status" -eq 0 ]
	ma=$(cc -print-multiarch)
	[ -f "$T/root/lib/$ma/security/pam_hoop.so" ]
	[ -f "$T/root/lib/$ma/libnss_hoop.so.2" ]
	[ -f "$T/root/usr/share/man/man5/hoop.conf.5" ]
	[ -f "$T/root/usr/share/man/man8/hoopctl.8" ]
	[ -f "$T/root/etc/hoop/hoop.conf" ]
	[ "$(stat -c %a "$T/root/usr/sbin/hoopctl")" = 2755 ]
	[ "$(stat -c %a "$T/root/etc/hoop/secrets")" = 750 ]
	[ "$(stat -c %a "$T/root/var/lib/hoop")" = 2770 ]
	[ "$(stat -c %a "$T/root/usr/bin/hoop-shell")" = 6755 ]
	[ "$(stat -c %a "$T/root/var/lib/hoop/recordings")" = 2770 ]
	[ -f "$T/root/usr/share/man/man8/hoop-shell.8" ]
	[ -d "$T/root/usr/lib/hoop/bin" ]
	# The hash masks' key: private, made once.
	[ "$(stat -c %a "$T/root/etc/hoop/secrets/mask-key")" = 640 ]
	key=$(cat "$T/root/etc/hoop/secrets/mask-key")
	[ "${#key}" -eq 64 ]
	run make -s -C "$HOOP_SRC" B="${HOOP_BUILD#"$HOOP_SRC"/}" install DESTDIR="$T/root" PREFIX=/usr
	[ "$(cat "$T/root/etc/hoop/secrets/mask-key")" = "$key" ]
}

@test "make install keeps an existing hoop.conf" {
	mkdir -p "$T/root/etc/hoop"
	echo '# local' >"$T/root/etc/hoop/hoop.conf"
	run make -s -C "$HOOP_SRC" B="${HOOP_BUILD#"$HOOP_SRC"/}" install DESTDIR="$T/root" PREFIX=/usr
	[ "$status" -eq 0 ]
	[ "$(cat "$T/root/etc/hoop/hoop.conf")" = "# local" ]
}
