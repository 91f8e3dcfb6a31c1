/*
 * hoopctl setup and hoopctl doctor: the layout an installation needs
 * (owners, modes, the group, the store) made once by setup, and checked
 * end to end by doctor together with what the rest of the system must
 * say (nsswitch.conf, the PAM stack and sshd_config for sshd, the
 * reaper's timer, the issuers' keys).
 *
 * --root DIR puts DIR in front of every system path (not of the paths
 * hoop.conf names): a tree made by `make install DESTDIR=DIR` is set up
 * and checked as it will be once in place.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hoop_nssdb.h"
#include "hoop_util.h"
#include "hoopctl.h"
#include "store_internal.h"

#ifndef HOOP_SBINDIR
#define HOOP_SBINDIR "/usr/sbin"
#endif
#ifndef HOOP_GROUP
#define HOOP_GROUP "hoop"
#endif
#ifndef HOOP_UNITDIR
#define HOOP_UNITDIR "/usr/lib/systemd/system"
#endif

/* Programs as make install lays them out. */
static const struct program {
	const char *dir;	/* HOOP_BINDIR or HOOP_SBINDIR */
	const char *name;
	mode_t mode;		/* with S_ISUID/S_ISGID */
	int required;		/* 0: optional (a wrapper not built) */
	const char *link;	/* a name in HOOP_WRAPPERDIR, or NULL */
	const char *link2;
} programs[] = {
	{ HOOP_BINDIR, "hoop-shell", S_ISUID | S_ISGID | 0755, 1, NULL,
	    NULL },
	{ HOOP_SBINDIR, "hoopctl", S_ISGID | 0755, 1, NULL, NULL },
	{ HOOP_BINDIR, "hoop-pgwrap", S_ISGID | 0755, 1, "psql", "pg_dump" },
	{ HOOP_BINDIR, "hoop-kubewrap", S_ISGID | 0755, 0, "kubectl", NULL },
};

struct doctor {
	const char *root;	/* "" or a directory */
	gid_t gid;		/* the hoop group */
	int have_gid;
	const char *group;	/* as asked for */
	unsigned checks, failed, warned;
	int fix;		/* setup: make it so */
};

static void
result(struct doctor *d, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ok: 1 fine, 0 failed, -1 a warning. */
static void
result(struct doctor *d, int ok, const char *fmt, ...)
{
	va_list ap;

	d->checks++;
	if (ok == 0)
		d->failed++;
	else if (ok < 0)
		d->warned++;
	fputs(ok > 0 ? "ok    " : ok == 0 ? "FAIL  " : "warn  ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void
rooted(const struct doctor *d, const char *path, char *out, size_t size)
{
	snprintf(out, size, "%s%s", d->root, path);
}

static const char *
group_name(const struct doctor *d)
{
	static char buf[32];
	struct group *gr = getgrgid(d->gid);

	if (gr != NULL)
		return gr->gr_name;
	snprintf(buf, sizeof(buf), "%u", (unsigned)d->gid);
	return buf;
}

/*
 * path must be owned by root and group hoop (group_hoop) or root, with
 * exactly mode (type bits aside). Says what is wrong and how to fix it;
 * with fix, fixes it first.
 */
static int
check_node(struct doctor *d, const char *what, const char *path,
    int is_dir, int group_hoop, mode_t mode)
{
	struct stat st;
	gid_t want_gid = group_hoop ? d->gid : 0;

	if (lstat(path, &st) == -1) {
		if (d->fix && is_dir && errno == ENOENT &&
		    mkdir(path, mode & 0777) == 0 && lstat(path, &st) == 0) {
			printf("made  %s\n", path);
		} else {
			result(d, 0, "%s: %s: %s", what, path, strerror(errno));
			return -1;
		}
	}
	if (is_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		result(d, 0, "%s: %s is not a %s", what, path,
		    is_dir ? "directory" : "regular file");
		return -1;
	}
	if (d->fix && (st.st_uid != 0 || st.st_gid != want_gid ||
	    (st.st_mode & 07777) != mode)) {
		/* chown first: it clears the set-id bits. */
		if (chown(path, 0, want_gid) == -1 || chmod(path, mode) == -1 ||
		    lstat(path, &st) == -1) {
			result(d, 0, "%s: %s: %s", what, path, strerror(errno));
			return -1;
		}
		printf("set   %s root:%s %04o\n", path, group_hoop ?
		    group_name(d) : "root", (unsigned)mode);
	}
	if (st.st_uid != 0 || st.st_gid != want_gid) {
		result(d, 0, "%s: %s belongs to %u:%u, not root:%s (chown "
		    "root:%s %s, then chmod %04o)", what, path,
		    (unsigned)st.st_uid, (unsigned)st.st_gid, group_hoop ?
		    group_name(d) : "root", group_hoop ? group_name(d) : "root",
		    path, (unsigned)mode);
		return -1;
	}
	if ((st.st_mode & 07777) != mode) {
		result(d, 0, "%s: %s has mode %04o, not %04o (chmod %04o %s)",
		    what, path, (unsigned)(st.st_mode & 07777), (unsigned)mode,
		    (unsigned)mode, path);
		return -1;
	}
	result(d, 1, "%s: %s root:%s %04o", what, path, group_hoop ?
	    group_name(d) : "root", (unsigned)mode);
	return 0;
}

/* A secret: root:hoop, nothing for others, not writable by the group. */
static void
check_secret(struct doctor *d, const char *what, const char *path)
{
	struct stat st;

	if (path == NULL)
		return;
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 07777) == 0440)
		check_node(d, what, path, 0, 1, 0440);
	else
		check_node(d, what, path, 0, 1, 0640);
}

static void
check_programs(struct doctor *d)
{
	char path[PATH_MAX], link[PATH_MAX], target[PATH_MAX], want[PATH_MAX];
	const char *names[2];
	struct stat st;
	size_t i, k;
	ssize_t n;

	for (i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		const struct program *p = &programs[i];

		snprintf(want, sizeof(want), "%s/%s", p->dir, p->name);
		rooted(d, want, path, sizeof(path));
		if (lstat(path, &st) == -1 && !p->required)
			continue;
		check_node(d, p->name, path, 0, 1, p->mode);
		names[0] = p->link;
		names[1] = p->link2;
		for (k = 0; k < 2; k++) {
			if (names[k] == NULL)
				continue;
			snprintf(target, sizeof(target), "%s/%s", HOOP_WRAPPERDIR,
			    names[k]);
			rooted(d, target, link, sizeof(link));
			n = readlink(link, target, sizeof(target) - 1);
			if (n >= 0)
				target[n] = '\0';
			if (n < 0 || strcmp(target, want) != 0)
				result(d, 0, "%s: %s must be a link to %s, "
				    "so that sessions run it (ln -sf %s %s)",
				    names[k], link, want, want, link);
			else
				result(d, 1, "%s: %s -> %s", names[k], link,
				    want);
		}
	}
}

/* The file's lines, for the parsers below; NULL after saying why. */
static char *
read_text(struct doctor *d, const char *what, const char *path)
{
	char *text = NULL;
	hoop_err_t err;

	if ((err = hoop_read_file(path, 1024 * 1024, &text, NULL)) !=
	    HOOP_OK) {
		result(d, 0, "%s: cannot read %s (%s)", what, path,
		    hoop_strerror(err));
		return NULL;
	}
	return text;
}

/* Whether the whitespace-separated words of s hold word. */
static int
has_word(const char *s, const char *word)
{
	size_t n = strlen(word), k;

	while (*s != '\0') {
		s += strspn(s, " \t");
		k = strcspn(s, " \t\n#");
		if (k == n && strncmp(s, word, n) == 0)
			return 1;
		if (s[k] == '#' || s[k] == '\n' || s[k] == '\0')
			return 0;
		s += k;
	}
	return 0;
}

static void
check_nsswitch(struct doctor *d)
{
	static const char *const dbs[] = { "passwd", "group" };
	char path[PATH_MAX], *text, *line, *save = NULL;
	int found[2] = { 0, 0 };
	size_t i;

	rooted(d, "/etc/nsswitch.conf", path, sizeof(path));
	if ((text = read_text(d, "nsswitch", path)) == NULL)
		return;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t");
		for (i = 0; i < 2; i++) {
			size_t n = strlen(dbs[i]);

			if (strncmp(line, dbs[i], n) == 0 && line[n] == ':')
				found[i] = has_word(line + n + 1, "hoop") ? 1 :
				    -1;
		}
	}
	for (i = 0; i < 2; i++) {
		if (found[i] == 1)
			result(d, 1, "nsswitch: %s: %s has hoop", path,
			    dbs[i]);
		else
			result(d, 0, "nsswitch: %s: the %s line must name "
			    "hoop (\"%s: files hoop\"): without it sshd does "
			    "not know the logins", path, dbs[i], dbs[i]);
	}
	free(text);
}

static void
check_pam(struct doctor *d)
{
	static const char *const types[] = { "auth", "account", "session" };
	char path[PATH_MAX], *text, *line, *save = NULL;
	int found[3] = { 0, 0, 0 }, first_auth_seen = 0, first_auth_ours = 0;
	size_t i;

	rooted(d, "/etc/pam.d/sshd", path, sizeof(path));
	if ((text = read_text(d, "pam", path)) == NULL)
		return;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t-");
		if (*line == '#' || *line == '\0')
			continue;
		/* An include of the distribution's auth stack counts as an
		 * auth module: passwords would get in through it. */
		if (strncmp(line, "@include", 8) == 0) {
			if (strstr(line, "common-auth") != NULL &&
			    !first_auth_seen)
				first_auth_seen = 1;
			continue;
		}
		for (i = 0; i < 3; i++) {
			size_t n = strlen(types[i]);

			if (strncmp(line, types[i], n) != 0 ||
			    (line[n] != ' ' && line[n] != '\t'))
				continue;
			if (strstr(line, "pam_hoop.so") != NULL)
				found[i] = 1;
			if (i == 0 && !first_auth_seen) {
				first_auth_seen = 1;
				first_auth_ours = strstr(line, "pam_hoop.so") !=
				    NULL;
			}
		}
	}
	result(d, found[0] && first_auth_ours, found[0] && first_auth_ours ?
	    "pam: %s authenticates with pam_hoop first" : "pam: %s: the "
	    "first auth module must be pam_hoop.so (\"auth [success=done "
	    "default=die] pam_hoop.so\"), before anything that accepts a "
	    "password", path);
	result(d, found[1], found[1] ? "pam: %s has pam_hoop for account" :
	    "pam: %s: no \"account required pam_hoop.so\": leases would not "
	    "be checked", path);
	result(d, found[2], found[2] ? "pam: %s has pam_hoop for session" :
	    "pam: %s: no \"session required pam_hoop.so\": sessions would "
	    "not be opened and closed in the store", path);
	free(text);
}

/* sshd_config keywords doctor reads: the first value wins, as in sshd. */
struct sshd_kw {
	const char *name;
	const char *alias;
	const char *deflt;	/* sshd's default */
	const char *want;	/* NULL: checked apart */
	const char *why;
	char value[PATH_MAX];
	int set, in_match;
};

static struct sshd_kw *
find_kw(struct sshd_kw *kw, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(kw[i].name, name) == 0 || (kw[i].alias != NULL &&
		    strcasecmp(kw[i].alias, name) == 0))
			return &kw[i];
	return NULL;
}

static void sshd_read(struct doctor *d, const char *path, struct sshd_kw *kw,
    size_t n, int depth);

static void
sshd_include(struct doctor *d, const char *pattern, struct sshd_kw *kw,
    size_t n, int depth)
{
	char full[PATH_MAX];
	glob_t g;
	size_t i;

	if (pattern[0] == '/')
		rooted(d, pattern, full, sizeof(full));
	else
		snprintf(full, sizeof(full), "%s/etc/ssh/%s", d->root,
		    pattern);
	if (glob(full, 0, NULL, &g) != 0)
		return;
	for (i = 0; i < g.gl_pathc; i++)
		sshd_read(d, g.gl_pathv[i], kw, n, depth + 1);
	globfree(&g);
}

static void
sshd_read(struct doctor *d, const char *path, struct sshd_kw *kw, size_t n,
    int depth)
{
	char *text, *line, *save = NULL, *key, *value;
	struct sshd_kw *k;
	int in_match = 0;
	size_t len;

	if (depth > 8 || (text = read_text(d, "sshd", path)) == NULL)
		return;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		key = line + strspn(line, " \t");
		if (*key == '#' || *key == '\0')
			continue;
		len = strcspn(key, " \t=");
		value = key + len;
		value += strspn(value, " \t");
		if (*value == '=')
			value += 1 + strspn(value + 1, " \t");
		key[len] = '\0';
		/* Trailing blanks and the line's comment off. */
		len = strlen(value);
		while (len > 0 && isspace((unsigned char)value[len - 1]))
			value[--len] = '\0';
		if (strcasecmp(key, "Match") == 0) {
			/* Until the end of this file the values depend on
			 * who connects. */
			in_match = 1;
			continue;
		}
		if (strcasecmp(key, "Include") == 0) {
			char *pat, *psave = NULL;

			for (pat = strtok_r(value, " \t", &psave); pat != NULL;
			    pat = strtok_r(NULL, " \t", &psave))
				sshd_include(d, pat, kw, n, depth);
			continue;
		}
		if ((k = find_kw(kw, n, key)) == NULL)
			continue;
		if (in_match) {
			k->in_match = 1;
			continue;
		}
		if (!k->set) {
			snprintf(k->value, sizeof(k->value), "%s", value);
			k->set = 1;
		}
	}
	free(text);
}

static void
check_sshd(struct doctor *d)
{
	struct sshd_kw kw[] = {
		{ "UsePAM", NULL, "no", "yes", "pam_hoop never runs", "",
		    0, 0 },
		{ "KbdInteractiveAuthentication",
		    "ChallengeResponseAuthentication", "yes", "yes",
		    "tokens arrive by keyboard-interactive", "", 0, 0 },
		{ "AllowTcpForwarding", NULL, "yes", "no",
		    "a session could reach the network past every wrapper",
		    "", 0, 0 },
		{ "AllowStreamLocalForwarding", NULL, "yes", "no",
		    "a session could reach local sockets past every wrapper",
		    "", 0, 0 },
		{ "AllowAgentForwarding", NULL, "yes", "no",
		    "the client's agent would be open to the bastion", "", 0,
		    0 },
		{ "X11Forwarding", NULL, "no", "no", "X11 would pass "
		    "unrecorded", "", 0, 0 },
		{ "PermitTunnel", NULL, "no", "no", "tunnels would pass "
		    "unrecorded", "", 0, 0 },
		{ "PermitUserEnvironment", NULL, "no", "no", "users could set "
		    "the environment of hoop-shell", "", 0, 0 },
		{ "ForceCommand", NULL, "", NULL, NULL, "", 0, 0 },
	};
	size_t n = sizeof(kw) / sizeof(kw[0]), i;
	char path[PATH_MAX], want[PATH_MAX];
	const char *v;

	rooted(d, "/etc/ssh/sshd_config", path, sizeof(path));
	sshd_read(d, path, kw, n, 0);
	for (i = 0; i + 1 < n; i++) {
		v = kw[i].set ? kw[i].value : kw[i].deflt;
		if (strcasecmp(v, kw[i].want) != 0)
			result(d, 0, "sshd: %s is %s%s, must be %s: %s (put "
			    "\"%s %s\" first, e.g. in sshd_config.d/hoop.conf)",
			    kw[i].name, v, kw[i].set ? "" : " (the default)",
			    kw[i].want, kw[i].why, kw[i].name, kw[i].want);
		else if (kw[i].in_match)
			result(d, -1, "sshd: %s %s, but a Match block sets it "
			    "too: check that it cannot loosen it", kw[i].name,
			    v);
		else
			result(d, 1, "sshd: %s %s", kw[i].name, v);
	}
	snprintf(want, sizeof(want), "%s/hoop-shell", HOOP_BINDIR);
	v = kw[n - 1].value;
	if (!kw[n - 1].set || strcmp(v, want) != 0)
		result(d, 0, "sshd: ForceCommand is %s, must be %s: every "
		    "session runs in the recording shell", kw[n - 1].set ? v :
		    "not set", want);
	else if (kw[n - 1].in_match)
		result(d, -1, "sshd: ForceCommand %s, but a Match block sets "
		    "it too", v);
	else
		result(d, 1, "sshd: ForceCommand %s", v);
}

static void
check_timer(struct doctor *d)
{
	char path[PATH_MAX], unit[PATH_MAX];
	struct stat st;

	rooted(d, HOOP_UNITDIR "/hoop-gc.timer", unit, sizeof(unit));
	rooted(d, "/etc/systemd/system/timers.target.wants/hoop-gc.timer",
	    path, sizeof(path));
	if (stat(unit, &st) == -1)
		result(d, 0, "reaper: %s: %s (make install puts it there)",
		    unit, strerror(errno));
	else if (lstat(path, &st) == -1)
		result(d, 0, "reaper: hoop-gc.timer is not enabled: expired "
		    "leases would keep their processes (systemctl enable "
		    "--now hoop-gc.timer)");
	else
		result(d, 1, "reaper: hoop-gc.timer enabled");
}

static void
check_config_files(struct doctor *d, struct hoopctl *ctx)
{
	char want[PATH_MAX], dir[PATH_MAX];
	const char *shell = hoop_config_login_shell(ctx->cfg);
	size_t i;

	/* Readable by all (nss_hoop and the wrappers read it), written by
	 * root only. */
	check_node(d, "config", ctx->config_path, 0, 0, 0644);
	snprintf(dir, sizeof(dir), "%s", ctx->config_path);
	check_node(d, "config directory", dirname(dir), 1, 0, 0755);
	snprintf(want, sizeof(want), "%s/hoop-shell", HOOP_BINDIR);
	result(d, strcmp(shell, want) == 0, strcmp(shell, want) == 0 ?
	    "config: login_shell %s" : "config: login_shell is %s, must be "
	    "%s: a shell that waits for hoop-shell keeps the terminal, and "
	    "hoop-shell refuses such sessions", shell, want);
	for (i = 0; i < hoop_config_target_count(ctx->cfg); i++) {
		const struct hoop_target *t = hoop_config_target_at(ctx->cfg,
		    i);
		char what[128];

		snprintf(what, sizeof(what), "target %s secret", t->name);
		check_secret(d, what, t->secret_file);
	}
	for (i = 0; i < hoop_config_notify_count(ctx->cfg); i++) {
		const struct hoop_notify *nt = hoop_config_notify_at(ctx->cfg,
		    i);
		char what[128];

		snprintf(what, sizeof(what), "notify %s secret", nt->name);
		check_secret(d, what, nt->secret_file);
	}
	check_secret(d, "mask key", hoop_config_mask_key_file(ctx->cfg));
}

/* /etc/hoop/secrets: the group reads it, nobody else enters it. */
static void
check_secrets_dir(struct doctor *d)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s/hoop/secrets", d->root,
	    HOOP_SYSCONFDIR);
	check_node(d, "secrets directory", path, 1, 1, 0750);
}

static void
make_mask_key(struct doctor *d, const char *path)
{
	unsigned char raw[32];
	char hex[65];
	int fd;

	if (path == NULL || access(path, F_OK) == 0)
		return;
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return;
	hoop_hex_encode(raw, sizeof(raw), hex);
	explicit_bzero(raw, sizeof(raw));
	hex[64] = '\n';
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0640)) == -1 || write(fd, hex, 65) != 65 ||
	    fchown(fd, 0, d->gid) == -1 || fchmod(fd, 0640) == -1) {
		result(d, 0, "mask key: cannot make %s: %s", path,
		    strerror(errno));
	} else {
		printf("made  %s\n", path);
	}
	explicit_bzero(hex, sizeof(hex));
	if (fd != -1)
		close(fd);
}

static void
check_state(struct doctor *d, struct hoopctl *ctx)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const char *store = hoop_config_store_path(ctx->cfg);
	int version = 0;
	hoop_err_t err;

	snprintf(dir, sizeof(dir), "%s", store);
	check_node(d, "state directory", dirname(dir), 1, 1,
	    S_ISGID | 0770);
	check_node(d, "recordings", hoop_config_recordings_dir(ctx->cfg), 1,
	    1, S_ISGID | 0770);
	if (d->fix && hoopctl_store(ctx, HOOP_STORE_CREATE |
	    HOOP_STORE_MIGRATE) == 0) {
		int from = 0, to = 0;

		if ((err = hoop_store_migrate(ctx->store, &from, &to)) !=
		    HOOP_OK)
			result(d, 0, "store: migrate: %s", hoop_strerror(err));
		else if (from != to)
			printf("made  %s (schema %d to %d)\n", store, from, to);
	}
	if (ctx->store == NULL && hoopctl_store(ctx, 0) == -1) {
		result(d, 0, "store: %s cannot be opened (why is said above; "
		    "hoopctl setup makes it, hoopctl db migrate migrates it)",
		    store);
		return;
	}
	check_node(d, "store", store, 0, 1, 0660);
	if ((err = hoop_store_schema_version(ctx->store, &version)) !=
	    HOOP_OK || version != HOOP_STORE_SCHEMA_VERSION)
		result(d, 0, "store: schema %d, this hoop needs %d (hoopctl "
		    "db migrate)", version, HOOP_STORE_SCHEMA_VERSION);
	else
		result(d, 1, "store: schema %d", version);
	snprintf(path, sizeof(path), "%s", ctx->nssdb_path);
	if (d->fix && access(path, F_OK) != 0) {
		snprintf(dir, sizeof(dir), "%s", path);
		(void)mkdir(dirname(dir), 0755);
		if ((err = hoop_nssdb_sync(ctx->cfg, ctx->store, path)) !=
		    HOOP_OK)
			result(d, 0, "nss: cannot write %s: %s", path,
			    hoop_strerror(err));
		else
			printf("made  %s\n", path);
	}
	/* nss_hoop reads it in every process that looks a user up. */
	check_node(d, "nss data", path, 0, 0, 0644);
}

/* Issuers' keys: a local file, or the store's cache of fetched keys. */
static void
check_issuers(struct doctor *d, struct hoopctl *ctx)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int64_t now = time(NULL);

	for (i = 0; i < hoop_config_issuer_count(ctx->cfg); i++) {
		const struct hoop_issuer *is = hoop_config_issuer_at(ctx->cfg,
		    i);

		if (is->jwks_file != NULL) {
			char what[128];

			snprintf(what, sizeof(what), "issuer %s keys",
			    is->name);
			/* Public keys: readable by all, written by root. */
			check_node(d, what, is->jwks_file, 0, 0, 0644);
			continue;
		}
		if (ctx->store == NULL)
			continue;	/* said already */
		if (sqlite3_prepare_v2(
		    hoop_store_db(ctx->store), "SELECT fetched_at, expires_at "
		    "FROM jwks_cache WHERE issuer = ?1", -1, &st, NULL) !=
		    SQLITE_OK) {
			result(d, 0, "issuer %s: cannot read the key cache",
			    is->name);
			continue;
		}
		sqlite3_bind_text(st, 1, is->url, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW)
			result(d, -1, "issuer %s: no keys fetched yet from %s "
			    "(the first login fetches them; check that the "
			    "bastion reaches it over HTTPS)", is->name, is->url);
		else if (sqlite3_column_int64(st, 1) < now)
			result(d, -1, "issuer %s: cached keys expired %lld s "
			    "ago (last fetched %lld s ago): the issuer may be "
			    "unreachable", is->name, (long long)(now -
			    sqlite3_column_int64(st, 1)), (long long)(now -
			    sqlite3_column_int64(st, 0)));
		else
			result(d, 1, "issuer %s: keys fetched %lld s ago",
			    is->name, (long long)(now -
			    sqlite3_column_int64(st, 0)));
		sqlite3_finalize(st);
		st = NULL;
	}
}

static int
parse_common(struct doctor *d, struct hoopctl *ctx, int argc, char **argv,
    const char *usage)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "group", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	static char config[PATH_MAX], nss[PATH_MAX];
	const char *group = HOOP_GROUP;
	struct group *gr;
	char *end;
	long v;
	int ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			d->root = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		default:
			fprintf(stderr, "usage: hoopctl %s\n", usage);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: hoopctl %s\n", usage);
		return -1;
	}
	if (d->root[0] != '\0' && d->root[0] != '/') {
		fprintf(stderr, "hoopctl: --root takes an absolute path\n");
		return -1;
	}
	/* The defaults move under --root; what -c and --nss-db name
	 * does not. */
	if (d->root[0] != '\0' && strcmp(ctx->config_path,
	    hoop_config_default_path()) == 0) {
		snprintf(config, sizeof(config), "%s%s", d->root,
		    ctx->config_path);
		ctx->config_path = config;
	}
	if (d->root[0] != '\0' && strcmp(ctx->nssdb_path,
	    hoop_nssdb_default_path()) == 0) {
		snprintf(nss, sizeof(nss), "%s%s", d->root, ctx->nssdb_path);
		ctx->nssdb_path = nss;
	}
	d->group = group;
	errno = 0;
	v = strtol(group, &end, 10);
	if (*end == '\0' && errno == 0 && v > 0 && v < 0x7fffffff) {
		d->gid = (gid_t)v;
		d->have_gid = 1;
	} else if ((gr = getgrnam(group)) != NULL) {
		d->gid = gr->gr_gid;
		d->have_gid = 1;
	}
	return 0;
}

int
cmd_doctor(struct hoopctl *ctx, int argc, char **argv)
{
	struct doctor d = { .root = "" };

	if (parse_common(&d, ctx, argc, argv, "doctor [--root DIR] "
	    "[--group NAME|GID]") == -1)
		return 2;
	if (getuid() != 0)
		printf("warn  not run as root: files only root may read are "
		    "reported as failures\n");
	if (!d.have_gid) {
		result(&d, 0, "group: %s does not exist (hoopctl setup)",
		    d.group);
		goto out;
	}
	result(&d, 1, "group: %s is gid %u", group_name(&d),
	    (unsigned)d.gid);
	check_programs(&d);
	check_nsswitch(&d);
	check_pam(&d);
	check_sshd(&d);
	check_timer(&d);
	if (hoopctl_config(ctx) == -1) {
		result(&d, 0, "config: %s is not valid (hoopctl config check)",
		    ctx->config_path);
		goto out;
	}
	result(&d, 1, "config: %s is valid", ctx->config_path);
	check_secrets_dir(&d);
	check_config_files(&d, ctx);
	check_state(&d, ctx);
	check_issuers(&d, ctx);
out:
	printf("doctor: %u checks, %u failed, %u warnings\n", d.checks,
	    d.failed, d.warned);
	return d.failed > 0 ? 1 : 0;
}

int
cmd_setup(struct hoopctl *ctx, int argc, char **argv)
{
	struct doctor d = { .root = "", .fix = 1 };
	pid_t pid;
	int status;

	if (parse_common(&d, ctx, argc, argv, "setup [--root DIR] "
	    "[--group NAME|GID]") == -1)
		return 2;
	if (getuid() != 0 || geteuid() != 0) {
		fprintf(stderr, "hoopctl: setup needs root\n");
		return 1;
	}
	if (!d.have_gid && d.root[0] == '\0') {
		/* groupadd knows the system's own rules for system ids. */
		if ((pid = fork()) == 0) {
			execl("/usr/sbin/groupadd", "groupadd", "--system",
			    HOOP_GROUP, (char *)NULL);
			_exit(127);
		}
		if (pid == -1 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "hoopctl: groupadd --system %s "
			    "failed\n", HOOP_GROUP);
			return 1;
		}
		printf("made  group %s\n", HOOP_GROUP);
		if (parse_common(&d, ctx, 1, argv, "setup") == -1 ||
		    !d.have_gid)
			return 1;
	}
	if (!d.have_gid) {
		fprintf(stderr, "hoopctl: group %s does not exist (with "
		    "--root, name an existing one with --group)\n",
		    HOOP_GROUP);
		return 1;
	}
	check_programs(&d);
	check_secrets_dir(&d);
	if (hoopctl_config(ctx) == -1)
		return 1;
	make_mask_key(&d, hoop_config_mask_key_file(ctx->cfg));
	check_config_files(&d, ctx);
	check_state(&d, ctx);
	printf("setup: %u checked, %u still wrong\n", d.checks, d.failed);
	if (d.failed == 0)
		printf("next: hoopctl doctor, which also checks nsswitch.conf, "
		    "the PAM stack, sshd_config and the reaper's timer\n");
	return d.failed > 0 ? 1 : 0;
}
