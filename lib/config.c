/*
 * hoop.conf: libconfuse parses the text, this file checks it and copies
 * the result into plain structs owned by a hoop_config_t, then frees
 * libconfuse's tree.
 *
 * Checks happen in two places. Each value is checked while libconfuse
 * parses (its per-option parse callbacks), so the message carries the
 * value's own line and parsing goes on to find more problems. What spans
 * options or sections (required options, either-or options, references
 * to other sections, rule kinds) is checked afterwards and reported at
 * the line of the section.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "hoop_config.h"
#include "hoop_mask.h"
#include "hoop_nssdb.h"
#include "hoop_util.h"

#ifndef HOOP_SYSCONFDIR
#define HOOP_SYSCONFDIR "/etc"
#endif
#ifndef HOOP_LOCALSTATEDIR
#define HOOP_LOCALSTATEDIR "/var"
#endif
#ifndef HOOP_BINDIR
#define HOOP_BINDIR "/usr/bin"
#endif

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* Everything a loaded configuration points to lives in a few chunks. */
struct chunk {
	struct chunk	*next;
	size_t		 size;		/* in units of max_align_t */
	size_t		 used;
	max_align_t	 mem[];
};
#define CHUNK_UNITS (16384 / sizeof(max_align_t))

struct hoop_config {
	struct chunk		*chunks;
	pcre2_code		**codes;	/* compiled patterns, to free */
	size_t			 n_codes;
	size_t			 cap_codes;
	const char		*store;
	const char		*recordings;
	const char		*mask_key_file;
	const char		*home_base;
	const char		*login_shell;
	int			 nss_enumerate;
	const char *const	*shell_path;
	size_t			 n_shell_path;
	long			 clock_skew;
	long			 uid_min;
	long			 uid_max;
	struct hoop_issuer	*issuers;
	size_t			 n_issuers;
	struct hoop_identity	*identities;
	size_t			 n_identities;
	struct hoop_target	*targets;
	size_t			 n_targets;
	struct hoop_policy	*policies;
	size_t			 n_policies;
	struct hoop_notify	*notifies;
	size_t			 n_notifies;
};

/* One load in progress. */
struct loader {
	const char		*name;		/* file name for messages */
	unsigned		 flags;
	hoop_config_diag_fn	 diag;
	void			*arg;
	unsigned		 errors;
	int			 nomem;
	int			 uid_line;	/* where uid_min/uid_max were set */
	int			 key_reported;	/* mask_key_file, once */
	hoop_config_t		*hc;
};

/*
 * libconfuse's scanner is global state and its callbacks take no user
 * pointer: loads run one at a time and the callbacks find theirs here.
 */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static struct loader *current;

static void report(struct loader *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
report(struct loader *ld, int line, const char *fmt, ...)
{
	char msg[1024], out[1280];
	va_list ap;
	size_t i;

	ld->errors++;
	if (ld->diag == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(out, sizeof(out), "%s:%d: %s", ld->name, line, msg);
	else
		snprintf(out, sizeof(out), "%s: %s", ld->name, msg);
	/* Messages quote the file: keep its control characters out of
	 * terminals and logs. */
	for (i = 0; out[i] != '\0'; i++) {
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	}
	ld->diag(ld->arg, out);
}

/* libconfuse's own messages (syntax, unknown options, duplicates). */
static void
confuse_error(cfg_t *sec, const char *fmt, va_list ap)
{
	char msg[512];

	if (current == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (sec != NULL && sec->title != NULL)
		report(current, sec->line, "%s (in %s \"%.64s\")", msg,
		    sec->name, sec->title);
	else
		report(current, sec != NULL ? sec->line : 0, "%s", msg);
}

/* Prefix for messages about a section: `issuer "gh": ', or nothing. */
static const char *
section_label(cfg_t *sec, char *buf, size_t size)
{
	if (sec == NULL || sec->title == NULL)
		return "";
	snprintf(buf, size, "%s \"%.64s\": ", sec->name, sec->title);
	return buf;
}

/*
 * Arena.
 */

static void *
arena_alloc(struct loader *ld, size_t size)
{
	hoop_config_t *hc = ld->hc;
	struct chunk *c = hc->chunks;
	size_t units, cap;
	void *p;

	units = size / sizeof(max_align_t) + 1;
	if (units > (SIZE_MAX - sizeof(*c)) / sizeof(max_align_t) / 2) {
		ld->nomem = 1;
		return NULL;
	}
	if (c == NULL || c->size - c->used < units) {
		cap = units > CHUNK_UNITS ? units : CHUNK_UNITS;
		if ((c = malloc(sizeof(*c) + cap * sizeof(max_align_t))) ==
		    NULL) {
			ld->nomem = 1;
			return NULL;
		}
		c->size = cap;
		c->used = 0;
		c->next = hc->chunks;
		hc->chunks = c;
	}
	p = &c->mem[c->used];
	c->used += units;
	memset(p, 0, units * sizeof(max_align_t));
	return p;
}

static void *
arena_array(struct loader *ld, size_t n, size_t size)
{
	if (n == 0)
		return NULL;
	if (n > SIZE_MAX / size) {
		ld->nomem = 1;
		return NULL;
	}
	return arena_alloc(ld, n * size);
}

static char *
copy_str(struct loader *ld, const char *s)
{
	size_t n;
	char *p;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	if ((p = arena_alloc(ld, n)) == NULL)
		return NULL;
	memcpy(p, s, n);
	return p;
}

/*
 * Value checks: each returns 0, or -1 with the reason in why (which may
 * be NULL with len 0 when only the verdict matters).
 */

typedef int (*check_fn)(const char *, char *, size_t);

static const char *const algorithm_names[] = {
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA", NULL
};
/* Each table below is in the order of its enum (or bit) in the header. */
static const char *const target_type_names[] = {
	"postgres", "kubernetes", "ssh", NULL
};
static const char *const tls_names[] = {
	"verify-full", "require", "disable", NULL
};
static const char *const action_names[] = {
	"allow", "deny", "approve", NULL
};
static const char *const approval_mode_names[] = { "any", "all", NULL };
static const char *const recording_limit_names[] = { "end", "skip", NULL };
static const char *const approval_covers_names[] = { "once", "grant", NULL };
static const char *const strategy_names[] = {
	"redact", "partial", "hash", NULL
};
static const char *const mask_computed_names[] = {
	"patterns", "refuse", NULL
};
static const char *const sql_class_names[] = {
	"read", "write", "ddl", "dcl", "admin", "transaction", "session",
	"copy", "call", "unknown", NULL
};
static const char *const kube_verb_names[] = {
	"get", "list", "watch", "create", "update", "patch", "delete",
	"deletecollection", NULL
};

static int
enum_index(const char *const *names, const char *value)
{
	int i;

	if (value == NULL)
		return -1;
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], value) == 0)
			return i;
	}
	return -1;
}

static void
list_names(const char *const *names, char *buf, size_t len)
{
	size_t off = 0;
	int i, n;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; names[i] != NULL && off < len; i++) {
		n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
		    names[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static int
check_enum(const char *const *names, const char *value, char *why,
    size_t len)
{
	char all[256];

	if (enum_index(names, value) != -1)
		return 0;
	list_names(names, all, sizeof(all));
	snprintf(why, len, "invalid value \"%.64s\" (expected one of: %s)",
	    value, all);
	return -1;
}

static int
check_algorithm(const char *v, char *why, size_t len)
{
	char all[256];

	if (enum_index(algorithm_names, v) != -1)
		return 0;
	list_names(algorithm_names, all, sizeof(all));
	/* "none" and shared-secret HS* would let anyone mint tokens. */
	snprintf(why, len, "algorithm \"%.64s\" is not allowed (allowed: %s)",
	    v, all);
	return -1;
}

static int
check_target_type(const char *v, char *why, size_t len)
{
	return check_enum(target_type_names, v, why, len);
}

static int
check_tls(const char *v, char *why, size_t len)
{
	return check_enum(tls_names, v, why, len);
}

static int
check_action(const char *v, char *why, size_t len)
{
	return check_enum(action_names, v, why, len);
}

static int
check_approval_mode(const char *v, char *why, size_t len)
{
	return check_enum(approval_mode_names, v, why, len);
}

static int
check_approval_covers(const char *v, char *why, size_t len)
{
	return check_enum(approval_covers_names, v, why, len);
}

static int
check_strategy(const char *v, char *why, size_t len)
{
	return check_enum(strategy_names, v, why, len);
}

static int
check_mask_computed(const char *v, char *why, size_t len)
{
	return check_enum(mask_computed_names, v, why, len);
}

static int
check_sql_class(const char *v, char *why, size_t len)
{
	return check_enum(sql_class_names, v, why, len);
}

static int
check_kube_verb(const char *v, char *why, size_t len)
{
	if (strcmp(v, "*") == 0)
		return 0;
	return check_enum(kube_verb_names, v, why, len);
}

static int
check_duration(const char *v, char *why, size_t len)
{
	long seconds;

	if (hoop_parse_duration(v, &seconds) == 0)
		return 0;
	snprintf(why, len, "invalid duration \"%.64s\" (write it like 90s, "
	    "15m, 1h30m or 2d)", v);
	return -1;
}

/* A duration that must not be zero. */
static int
check_period(const char *v, char *why, size_t len)
{
	long seconds;

	if (check_duration(v, why, len) == -1)
		return -1;
	if (hoop_parse_duration(v, &seconds) == 0 && seconds > 0)
		return 0;
	snprintf(why, len, "duration must be longer than 0s");
	return -1;
}

static int
has_control(const char *v)
{
	for (; *v != '\0'; v++) {
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 1;
	}
	return 0;
}

/* Free text: audiences, claim values, reasons, database and role names. */
static int
check_text(const char *v, char *why, size_t len)
{
	if (*v == '\0') {
		snprintf(why, len, "empty value");
		return -1;
	}
	if (strlen(v) > 1024 || has_control(v)) {
		snprintf(why, len, "\"%.64s\" is longer than 1024 bytes or has "
		    "control characters", v);
		return -1;
	}
	return 0;
}

static int
check_recording_limit(const char *v, char *why, size_t len)
{
	return check_enum(recording_limit_names, v, why, len);
}

static int
check_size(const char *v, char *why, size_t len)
{
	unsigned long long bytes;

	if (hoop_parse_size(v, &bytes) == -1) {
		snprintf(why, len, "invalid size \"%.64s\" (a number of bytes, "
		    "with K, M, G or T for powers of 1024)", v);
		return -1;
	}
	return 0;
}

static int
check_path(const char *v, char *why, size_t len)
{
	if (v[0] != '/' || strlen(v) >= PATH_MAX || has_control(v)) {
		snprintf(why, len, "\"%.64s\" is not an absolute path", v);
		return -1;
	}
	return 0;
}

/* Files named by the configuration; secret ones must be private. */
static int
check_file(const char *v, int secret, char *why, size_t len)
{
	struct stat st;

	if (check_path(v, why, len) == -1)
		return -1;
	if (current == NULL || (current->flags & HOOP_CONFIG_NO_FS_CHECKS))
		return 0;
	if (lstat(v, &st) == -1) {
		snprintf(why, len, "\"%.64s\": %s", v, errno == ENOENT ?
		    "no such file" : strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(why, len, "\"%.64s\" is a symbolic link (name the "
		    "file itself)", v);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, len, "\"%.64s\" is not a regular file", v);
		return -1;
	}
	if (secret && (st.st_mode & 007) != 0) {
		snprintf(why, len, "\"%.64s\" is accessible by other users "
		    "(mode %04o): chmod o-rwx it", v,
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	/* Whoever can write keys or CAs can forge logins. */
	if (!secret && (st.st_mode & 002) != 0) {
		snprintf(why, len, "\"%.64s\" is writable by other users "
		    "(mode %04o)", v, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

static int
check_key_file(const char *v, char *why, size_t len)
{
	return check_file(v, 0, why, len);
}

static int
check_secret_file(const char *v, char *why, size_t len)
{
	return check_file(v, 1, why, len);
}

static int
check_url_scheme(const char *v, int https_only, char *why, size_t len)
{
	const char *host;

	if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	else if (!https_only && strncmp(v, "http://", 7) == 0)
		host = v + 7;
	else {
		snprintf(why, len, "\"%.64s\" must start with %s", v,
		    https_only ? "https://" : "https:// (or http:// with "
		    "jwks_file)");
		return -1;
	}
	if (*host == '\0' || *host == '/' || strlen(v) > 2048 ||
	    has_control(v) || strchr(v, ' ') != NULL) {
		snprintf(why, len, "\"%.64s\" is not a valid URL", v);
		return -1;
	}
	return 0;
}

static int
check_issuer_url(const char *v, char *why, size_t len)
{
	if (check_url_scheme(v, 0, why, len) == -1)
		return -1;
	/* OpenID discovery: an issuer has no query or fragment. */
	if (strpbrk(v, "?#") != NULL) {
		snprintf(why, len, "\"%.64s\": an issuer URL has no query or "
		    "fragment", v);
		return -1;
	}
	return 0;
}

static int
check_server_url(const char *v, char *why, size_t len)
{
	return check_url_scheme(v, 1, why, len);
}

/* Section names and references to them. */
static int
valid_name(const char *v)
{
	size_t i;

	if (!isalnum((unsigned char)v[0]) || (unsigned char)v[0] > 0x7f)
		return 0;
	for (i = 1; v[i] != '\0'; i++) {
		if (i >= 64)
			return 0;
		if (!(isalnum((unsigned char)v[i]) ||
		    strchr("_.-", v[i]) != NULL) || (unsigned char)v[i] > 0x7f)
			return 0;
	}
	return 1;
}

static int
check_name(const char *v, char *why, size_t len)
{
	if (valid_name(v))
		return 0;
	snprintf(why, len, "invalid name \"%.64s\" (letters, digits, '_', "
	    "'.' and '-', at most 64, starting with a letter or digit)", v);
	return -1;
}

static int
user_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	    c == '-';
}

/* The user and group names sshd and NSS are happy with. */
static int
valid_user_name(const char *v)
{
	size_t i;

	if (!((v[0] >= 'a' && v[0] <= 'z') || v[0] == '_'))
		return 0;
	for (i = 1; v[i] != '\0'; i++) {
		if (i >= 32 || !user_char(v[i]))
			return 0;
	}
	return 1;
}

static int
check_login(const char *v, char *why, size_t len)
{
	if (!valid_user_name(v)) {
		snprintf(why, len, "invalid user name \"%.64s\" (a-z, 0-9, "
		    "'_' and '-', at most 32, not starting with a digit or "
		    "'-')", v);
		return -1;
	}
	if (strcmp(v, "root") == 0) {
		snprintf(why, len, "a token must never log in as root");
		return -1;
	}
	return 0;
}

static int
check_group(const char *v, char *why, size_t len)
{
	if (valid_user_name(v))
		return 0;
	snprintf(why, len, "invalid group name \"%.64s\" (a-z, 0-9, '_' and "
	    "'-', at most 32, not starting with a digit or '-')", v);
	return -1;
}

/* "GROUP:LOCAL": sessions whose principal holds GROUP ("*": all) get the
 * bastion's group LOCAL. Only the names are checked: whether LOCAL
 * exists is the host's business, not the file's. */
static int
check_local_group(const char *v, char *why, size_t len)
{
	const char *colon = strchr(v, ':');
	char group[40];

	if (colon != NULL && (size_t)(colon - v) < sizeof(group)) {
		memcpy(group, v, (size_t)(colon - v));
		group[colon - v] = '\0';
		if ((strcmp(group, "*") == 0 || valid_user_name(group)) &&
		    valid_user_name(colon + 1)) {
			if (strcmp(colon + 1, "root") != 0)
				return 0;
			snprintf(why, len, "\"%.64s\": sessions never get the "
			    "root group", v);
			return -1;
		}
	}
	snprintf(why, len, "invalid local group mapping \"%.64s\" (write "
	    "\"GROUP:LOCAL_GROUP\" or \"*:LOCAL_GROUP\", with group names of "
	    "a-z, 0-9, '_' and '-')", v);
	return -1;
}

/* Paths that go into passwd entries: no ':', no ".." or "." parts, no
 * trailing '/'. */
static int
check_passwd_path(const char *v, char *why, size_t len)
{
	size_t n = strlen(v);

	if (check_path(v, why, len) == -1)
		return -1;
	if (strchr(v, ':') != NULL || n < 2 || v[n - 1] == '/' ||
	    strstr(v, "//") != NULL || strstr(v, "/./") != NULL ||
	    strstr(v, "/../") != NULL || (n >= 2 && strcmp(v + n - 2, "/.")
	    == 0) || (n >= 3 && strcmp(v + n - 3, "/..") == 0) || n > 512) {
		snprintf(why, len, "\"%.64s\" must be a plain absolute path "
		    "other than / (no ':', '.' or '..' parts, no trailing '/', "
		    "at most 512)", v);
		return -1;
	}
	return 0;
}

static int
check_template(const char *v, char *why, size_t len)
{
	const char *p, *end, *q;
	size_t literal = 0, refs = 0;

	if (*v == '\0') {
		snprintf(why, len, "empty template");
		return -1;
	}
	for (p = v; *p != '\0';) {
		if (p[0] == '$') {
			if (p[1] != '{') {
				snprintf(why, len, "malformed template "
				    "\"%.64s\": '$' must start ${claim} (offset "
				    "%zu)", v, (size_t)(p - v));
				return -1;
			}
			if ((end = strchr(p + 2, '}')) == NULL) {
				snprintf(why, len, "malformed template "
				    "\"%.64s\": \"${\" without '}' (offset %zu)",
				    v, (size_t)(p - v));
				return -1;
			}
			if (end == p + 2 || end - (p + 2) > 64) {
				snprintf(why, len, "malformed template "
				    "\"%.64s\": empty or long claim name "
				    "(offset %zu)", v, (size_t)(p - v));
				return -1;
			}
			for (q = p + 2; q < end; q++) {
				if (!(isalnum((unsigned char)*q) ||
				    *q == '_') || (unsigned char)*q > 0x7f) {
					snprintf(why, len, "malformed template "
					    "\"%.64s\": claim names use "
					    "letters, digits and '_' (offset "
					    "%zu)", v, (size_t)(q - v));
					return -1;
				}
			}
			refs++;
			p = end + 1;
			continue;
		}
		if (!user_char(*p) || (p == v && !((*p >= 'a' && *p <= 'z') ||
		    *p == '_'))) {
			snprintf(why, len, "malformed template \"%.64s\": "
			    "character %zu is not allowed in a user name "
			    "(a-z, 0-9, '_', '-'; no digit or '-' first)", v,
			    (size_t)(p - v) + 1);
			return -1;
		}
		literal++;
		p++;
	}
	if (refs == 0) {
		snprintf(why, len, "template \"%.64s\" has no ${claim}: use "
		    "login for a fixed name", v);
		return -1;
	}
	/* With two, claim values holding '-' could give one name for
	 * different claims ("x-${a}-${b}": a=p-q,b=r and a=p,b=q-r). */
	if (refs > 1) {
		snprintf(why, len, "template \"%.64s\" has %zu ${claim}s: "
		    "one only, so that a name stands for one claim value", v,
		    refs);
		return -1;
	}
	if (literal > 31) {
		snprintf(why, len, "template \"%.64s\" leaves no room for its "
		    "claims in 32 characters", v);
		return -1;
	}
	return 0;
}

/* Claim names: printable ASCII (some are URLs). */
static int
check_claim(const char *v, char *why, size_t len)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++) {
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
			break;
	}
	if (i > 0 && v[i] == '\0' && i <= 128)
		return 0;
	snprintf(why, len, "invalid claim name \"%.64s\" (printable ASCII "
	    "without spaces, at most 128)", v);
	return -1;
}

/* A postgres socket directory, or a host name or address. */
static int
check_host(const char *v, char *why, size_t len)
{
	size_t i;

	if (v[0] == '/')
		return check_path(v, why, len);
	for (i = 0; v[i] != '\0'; i++) {
		if (!isalnum((unsigned char)v[i]) &&
		    strchr("._:%-", v[i]) == NULL)
			break;
	}
	if (i > 0 && v[i] == '\0' && i <= 253)
		return 0;
	snprintf(why, len, "invalid host \"%.64s\"", v);
	return -1;
}

static pcre2_code *
compile_regex(const char *pattern, int anchored, char *why, size_t len)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE offset;
	pcre2_code *re;
	uint32_t options;
	int code;

	if (*pattern == '\0') {
		snprintf(why, len, "empty pattern");
		return NULL;
	}
	options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C;
	if (anchored)
		options |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options,
	    &code, &offset, NULL);
	if (re == NULL) {
		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", code);
		snprintf(why, len, "invalid regular expression \"%.64s\": %s "
		    "at offset %zu", pattern, (char *)msg, (size_t)offset);
	}
	return re;
}

static int
check_regex(const char *v, int anchored, char *why, size_t len)
{
	pcre2_code *re;

	if ((re = compile_regex(v, anchored, why, len)) == NULL)
		return -1;
	pcre2_code_free(re);
	return 0;
}

static int
check_claim_regex(const char *v, char *why, size_t len)
{
	return check_regex(v, 1, why, len);
}

#define BUILTIN_PREFIX "builtin:"

/* A regex, or "builtin:NAME" for one of lib/mask.c's patterns. */
static int
check_mask_regex(const char *v, char *why, size_t len)
{
	if (strncmp(v, BUILTIN_PREFIX, strlen(BUILTIN_PREFIX)) != 0)
		return check_regex(v, 0, why, len);
	if (hoop_mask_builtin_known(v + strlen(BUILTIN_PREFIX)))
		return 0;
	snprintf(why, len, "unknown built-in pattern \"%.64s\" (known: %s)",
	    v + strlen(BUILTIN_PREFIX), hoop_mask_builtin_list());
	return -1;
}

static int
check_command(const char *v, char *why, size_t len)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++) {
		if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f || v[i] == '/')
			break;
	}
	if (i > 0 && v[i] == '\0' && i <= 255)
		return 0;
	snprintf(why, len, "invalid command name \"%.64s\" (a name as found "
	    "in PATH: no '/' or spaces)", v);
	return -1;
}

/* SQL identifiers, dotted: between min and max parts. */
static int
valid_sql_name(const char *v, int min, int max)
{
	int parts = 0;
	size_t n;

	for (;;) {
		if (!(isalpha((unsigned char)*v) || *v == '_') ||
		    (unsigned char)*v > 0x7f)
			return 0;
		for (n = 1; isalnum((unsigned char)v[n]) || v[n] == '_' ||
		    v[n] == '$'; n++)
			;
		if (n > 63 || (unsigned char)v[n] > 0x7f)
			return 0;
		parts++;
		v += n;
		if (*v == '\0')
			break;
		if (*v != '.')
			return 0;
		v++;
	}
	return parts >= min && parts <= max;
}

static int
check_sql_function(const char *v, char *why, size_t len)
{
	if (valid_sql_name(v, 1, 2))
		return 0;
	snprintf(why, len, "invalid function name \"%.64s\" (name or "
	    "schema.name)", v);
	return -1;
}

static int
check_column(const char *v, char *why, size_t len)
{
	if (valid_sql_name(v, 2, 3))
		return 0;
	snprintf(why, len, "invalid column \"%.64s\" (table.column or "
	    "schema.table.column)", v);
	return -1;
}

static int
check_kube_group(const char *v, char *why, size_t len)
{
	size_t i;

	if (strcmp(v, "*") == 0)
		return 0;
	for (i = 0; v[i] != '\0'; i++) {
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
		    (v[i] >= '0' && v[i] <= '9') || v[i] == '.' || v[i] == '-'))
			break;
	}
	/* "" is the core group. */
	if (v[i] == '\0' && i <= 253)
		return 0;
	snprintf(why, len, "invalid API group \"%.64s\"", v);
	return -1;
}

static int
check_kube_resource(const char *v, char *why, size_t len)
{
	const char *p = v;
	int parts;

	/* "resource" or "resource/subresource", each a name or "*". */
	for (parts = 1; parts <= 2; parts++) {
		if (*p == '*')
			p++;
		else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) {
			while ((*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9'))
				p++;
		} else
			break;
		if (*p == '\0') {
			if (p - v <= 253)
				return 0;
			break;
		}
		if (*p++ != '/')
			break;
	}
	snprintf(why, len, "invalid resource \"%.64s\" (like pods, "
	    "pods/exec or *)", v);
	return -1;
}

static int
check_kube_namespace(const char *v, char *why, size_t len)
{
	size_t i;

	if (strcmp(v, "*") == 0)
		return 0;
	for (i = 0; v[i] != '\0'; i++) {
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
		    (v[i] >= '0' && v[i] <= '9') || v[i] == '-'))
			break;
	}
	if (i > 0 && v[i] == '\0' && i <= 63 && v[0] != '-' &&
	    v[i - 1] != '-')
		return 0;
	snprintf(why, len, "invalid namespace \"%.64s\"", v);
	return -1;
}

static int
check_kube_name(const char *v, char *why, size_t len)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++) {
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f ||
		    v[i] == '/')
			break;
	}
	if (i > 0 && v[i] == '\0' && i <= 253)
		return 0;
	snprintf(why, len, "invalid resource name \"%.64s\"", v);
	return -1;
}

/*
 * libconfuse parse callbacks. They report and let parsing go on (a
 * failing callback would stop it, and a default value that fails makes
 * libconfuse abort()), so the load fails at the end with every problem
 * listed. libconfuse passes no user data: one callback per check.
 */

/*
 * libconfuse takes "issuer=gh|url" = "..." anywhere above the section,
 * setting an option of another section where no reader would look for
 * it. Refuse values written outside their own section.
 */
static int
misplaced(cfg_t *sec, cfg_opt_t *opt)
{
	unsigned i;

	for (i = 0; sec->opts[i].name != NULL; i++) {
		if (&sec->opts[i] == opt)
			return 0;
	}
	if (current != NULL)
		report(current, sec->line, "%s: set outside its section "
		    "(\"section=title|option\" paths are not supported)",
		    opt->name);
	return 1;
}

static int
check_value(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result,
    check_fn check)
{
	char why[512], label[160];

	*(const char **)result = value;
	if (value == NULL)
		return -1;
	if (current != NULL && !misplaced(sec, opt) &&
	    check(value, why, sizeof(why)) == -1)
		report(current, sec->line, "%s%s: %s",
		    section_label(sec, label, sizeof(label)), opt->name, why);
	return 0;
}

#define VALUE_CB(name, check)						\
static int								\
name(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)	\
{									\
	return check_value(sec, opt, value, result, check);		\
}

VALUE_CB(cb_duration, check_duration)
VALUE_CB(cb_period, check_period)
VALUE_CB(cb_text, check_text)
VALUE_CB(cb_path, check_path)
VALUE_CB(cb_key_file, check_key_file)
VALUE_CB(cb_secret_file, check_secret_file)
VALUE_CB(cb_issuer_url, check_issuer_url)
VALUE_CB(cb_server_url, check_server_url)
VALUE_CB(cb_name, check_name)
VALUE_CB(cb_login, check_login)
VALUE_CB(cb_group, check_group)
VALUE_CB(cb_local_group, check_local_group)
VALUE_CB(cb_passwd_path, check_passwd_path)
VALUE_CB(cb_template, check_template)
VALUE_CB(cb_claim, check_claim)
VALUE_CB(cb_host, check_host)
VALUE_CB(cb_claim_regex, check_claim_regex)
VALUE_CB(cb_mask_regex, check_mask_regex)
VALUE_CB(cb_algorithm, check_algorithm)
VALUE_CB(cb_target_type, check_target_type)
VALUE_CB(cb_tls, check_tls)
VALUE_CB(cb_recording_limit, check_recording_limit)
VALUE_CB(cb_size, check_size)
VALUE_CB(cb_action, check_action)
VALUE_CB(cb_approval_mode, check_approval_mode)
VALUE_CB(cb_approval_covers, check_approval_covers)
VALUE_CB(cb_strategy, check_strategy)
VALUE_CB(cb_mask_computed, check_mask_computed)
VALUE_CB(cb_command, check_command)
VALUE_CB(cb_sql_class, check_sql_class)
VALUE_CB(cb_sql_function, check_sql_function)
VALUE_CB(cb_kube_verb, check_kube_verb)
VALUE_CB(cb_kube_group, check_kube_group)
VALUE_CB(cb_kube_resource, check_kube_resource)
VALUE_CB(cb_kube_namespace, check_kube_namespace)
VALUE_CB(cb_kube_name, check_kube_name)
VALUE_CB(cb_column, check_column)

/* Decimal only: libconfuse's own parsing takes "010" as 8. */
static int
check_int(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result,
    long min, long max)
{
	char label[160];
	const char *p = value;
	int valid, neg = 0;
	long n = 0;

	*(long *)result = 0;
	if (value == NULL)
		return -1;
	if (current == NULL || misplaced(sec, opt))
		return 0;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	for (valid = *p != '\0'; valid && *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > (LONG_MAX - (*p - '0')) / 10)
			valid = 0;
		else
			n = n * 10 + (*p - '0');
	}
	if (neg)
		n = -n;
	if (!valid)
		report(current, sec->line, "%s%s: \"%.64s\" is not an integer",
		    section_label(sec, label, sizeof(label)), opt->name, value);
	else if (n < min || n > max)
		report(current, sec->line, "%s%s: %ld is out of range (%ld to "
		    "%ld)", section_label(sec, label, sizeof(label)),
		    opt->name, n, min, max);
	else
		*(long *)result = n;
	return 0;
}

#define INT_CB(name, min, max)						\
static int								\
name(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)	\
{									\
	return check_int(sec, opt, value, result, min, max);		\
}

INT_CB(cb_port, 1, 65535)
INT_CB(cb_approvals, 1, 100)
INT_CB(cb_keep, 0, 64)

#define UID_MIN_LOW 1000L
#define UID_HIGH 2147483647L

static int
cb_uid(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	if (current != NULL && sec->line > current->uid_line)
		current->uid_line = sec->line;
	return check_int(sec, opt, value, result, UID_MIN_LOW, UID_HIGH);
}

static int
cb_bool(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	char label[160];
	int b;

	b = value != NULL ? cfg_parse_boolean(value) : -1;
	if (current != NULL && misplaced(sec, opt))
		b = 0;
	else if (b == -1 && current != NULL) {
		report(current, sec->line, "%s%s: \"%.64s\" is not a boolean "
		    "(true or false)", section_label(sec, label,
		    sizeof(label)), opt->name, value != NULL ? value : "");
	}
	*(int *)result = b == 1;
	return 0;
}

/*
 * libconfuse leaves a section's line at its closing brace. Every section
 * has a hidden option whose default libconfuse parses as it creates the
 * section, while the line is still that of the opening brace: its
 * callback keeps it. The name cannot be written in a file: libconfuse
 * reads "line|" as a path through a section called "line".
 */
#define LINE_OPTION "line|"
#define LINE_OPT CFG_PTR_CB(LINE_OPTION, "0", CFGF_NONE, cb_line, NULL)

static int
cb_line(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	(void)opt;
	(void)value;
	*(void **)result = (void *)(intptr_t)sec->line;
	return 0;
}

static int
section_line(cfg_t *sec)
{
	unsigned i;

	for (i = 0; sec->opts[i].name != NULL; i++) {
		if (strcmp(sec->opts[i].name, LINE_OPTION) == 0 &&
		    sec->opts[i].nvalues > 0)
			return (int)(intptr_t)cfg_opt_getnptr(&sec->opts[i], 0);
	}
	return sec->line;
}

/*
 * Schema.
 */

#define SECTION_FLAGS (CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES)

static cfg_opt_t claim_opts[] = {
	LINE_OPT,
	CFG_STR_LIST_CB("equals", 0, CFGF_NONE, cb_text),
	CFG_STR_CB("matches", 0, CFGF_NONE, cb_claim_regex),
	CFG_END()
};

static cfg_opt_t issuer_opts[] = {
	LINE_OPT,
	CFG_STR_CB("url", 0, CFGF_NONE, cb_issuer_url),
	CFG_STR_LIST_CB("audience", 0, CFGF_NONE, cb_text),
	CFG_STR_LIST_CB("algorithms", "{RS256}", CFGF_NONE, cb_algorithm),
	CFG_STR_CB("jwks_file", 0, CFGF_NONE, cb_key_file),
	CFG_STR_CB("ca_file", 0, CFGF_NONE, cb_key_file),
	CFG_STR_CB("clock_skew", 0, CFGF_NONE, cb_duration),
	CFG_STR_CB("max_token_age", 0, CFGF_NONE, cb_period),
	CFG_STR_CB("jwks_cache", "1h", CFGF_NONE, cb_period),
	CFG_STR_CB("jwks_refresh_interval", "60s", CFGF_NONE, cb_duration),
	CFG_BOOL_CB("single_use_jti", cfg_false, CFGF_NONE, cb_bool),
	CFG_END()
};

static cfg_opt_t identity_opts[] = {
	LINE_OPT,
	CFG_STR_CB("issuer", 0, CFGF_NONE, cb_name),
	CFG_SEC("claim", claim_opts, SECTION_FLAGS),
	CFG_STR_CB("login", 0, CFGF_NONE, cb_login),
	CFG_STR_CB("login_template", 0, CFGF_NONE, cb_template),
	CFG_STR_LIST_CB("groups", 0, CFGF_NONE, cb_group),
	CFG_STR_CB("groups_claim", 0, CFGF_NONE, cb_claim),
	CFG_STR_CB("max_session", "8h", CFGF_NONE, cb_period),
	CFG_STR_CB("token_grace", "10m", CFGF_NONE, cb_duration),
	CFG_STR_CB("idle_timeout", "30m", CFGF_NONE, cb_duration),
	CFG_BOOL_CB("home", cfg_true, CFGF_NONE, cb_bool),
	CFG_BOOL_CB("disabled", cfg_false, CFGF_NONE, cb_bool),
	CFG_STR_LIST_CB("local_groups", 0, CFGF_NONE, cb_local_group),
	CFG_BOOL_CB("record_input", cfg_true, CFGF_NONE, cb_bool),
	CFG_STR_CB("recording_max_size", "1G", CFGF_NONE, cb_size),
	CFG_STR_CB("recording_limit", "end", CFGF_NONE, cb_recording_limit),
	CFG_END()
};

static cfg_opt_t target_opts[] = {
	LINE_OPT,
	CFG_STR_CB("type", 0, CFGF_NONE, cb_target_type),
	CFG_STR_CB("host", 0, CFGF_NONE, cb_host),
	CFG_INT_CB("port", 0, CFGF_NONE, cb_port),
	CFG_STR_CB("database", 0, CFGF_NONE, cb_text),
	CFG_STR_CB("user", 0, CFGF_NONE, cb_text),
	CFG_STR_CB("server", 0, CFGF_NONE, cb_server_url),
	CFG_STR_CB("ca_file", 0, CFGF_NONE, cb_key_file),
	CFG_STR_CB("tls", "verify-full", CFGF_NONE, cb_tls),
	CFG_STR_CB("secret_file", 0, CFGF_NONE, cb_secret_file),
	CFG_END()
};

static cfg_opt_t mask_opts[] = {
	LINE_OPT,
	CFG_STR_LIST_CB("columns", 0, CFGF_NONE, cb_column),
	CFG_STR_CB("pattern", 0, CFGF_NONE, cb_mask_regex),
	CFG_STR_CB("strategy", "redact", CFGF_NONE, cb_strategy),
	CFG_INT_CB("keep", 4, CFGF_NONE, cb_keep),
	CFG_END()
};

/* The options of every rule; each kind below adds its matchers. */
static cfg_opt_t rule_base_opts[] = {
	LINE_OPT,
	CFG_STR_CB("action", 0, CFGF_NONE, cb_action),
	CFG_STR_CB("reason", 0, CFGF_NONE, cb_text),
	CFG_STR_LIST_CB("approvers", 0, CFGF_NONE, cb_group),
	CFG_INT_CB("approvals_required", 1, CFGF_NONE, cb_approvals),
	CFG_STR_CB("approval_mode", "any", CFGF_NONE, cb_approval_mode),
	CFG_STR_CB("approval_covers", "once", CFGF_NONE, cb_approval_covers),
	CFG_STR_CB("approval_grant", "1h", CFGF_NONE, cb_period),
	CFG_STR_CB("approval_timeout", "15m", CFGF_NONE, cb_period),
	CFG_END()
};

static const char *const approval_options[] = {
	"approvers", "approvals_required", "approval_mode", "approval_covers",
	"approval_grant", "approval_timeout", NULL
};

/*
 * Rule kinds. Each brings its matcher options (with their value checks)
 * and a function that checks a rule's matchers as a whole and copies
 * them into struct hoop_rule. Matcher options must have no default: a
 * kind is in use when one of its options is written in the rule.
 */
struct rule_kind {
	enum hoop_rule_kind	 kind;
	const char		*name;
	cfg_opt_t		*opts;		/* CFG_END() last */
	void			(*load)(struct loader *, cfg_t *, const char *,
				    int, struct hoop_rule *);
};

static void load_shell(struct loader *, cfg_t *, const char *, int,
    struct hoop_rule *);
static void load_sql(struct loader *, cfg_t *, const char *, int,
    struct hoop_rule *);
static void load_kube(struct loader *, cfg_t *, const char *, int,
    struct hoop_rule *);

static cfg_opt_t shell_opts[] = {
	CFG_STR_LIST_CB("commands", 0, CFGF_NONE, cb_command),
	CFG_END()
};

static cfg_opt_t sql_opts[] = {
	CFG_STR_LIST_CB("statements", 0, CFGF_NONE, cb_sql_class),
	CFG_STR_LIST_CB("functions", 0, CFGF_NONE, cb_sql_function),
	CFG_END()
};

static cfg_opt_t kube_opts[] = {
	CFG_STR_LIST_CB("verbs", 0, CFGF_NONE, cb_kube_verb),
	CFG_STR_LIST_CB("api_groups", 0, CFGF_NONE, cb_kube_group),
	CFG_STR_LIST_CB("resources", 0, CFGF_NONE, cb_kube_resource),
	CFG_STR_LIST_CB("namespaces", 0, CFGF_NONE, cb_kube_namespace),
	CFG_STR_LIST_CB("names", 0, CFGF_NONE, cb_kube_name),
	CFG_END()
};

static const struct rule_kind rule_kinds[] = {
	{ HOOP_RULE_SHELL, "shell", shell_opts, load_shell },
	{ HOOP_RULE_SQL, "sql", sql_opts, load_sql },
	{ HOOP_RULE_KUBE, "kube", kube_opts, load_kube },
};

#define RULE_OPTS_MAX 64

/* The rule section's options: the common ones, then every kind's. */
static int
build_rule_opts(cfg_opt_t *out, size_t max)
{
	static cfg_opt_t end[] = { CFG_END() };
	size_t n = 0, i, j, k;

	for (i = 0; rule_base_opts[i].name != NULL; i++) {
		if (n + 1 >= max)
			return -1;
		out[n++] = rule_base_opts[i];
	}
	for (k = 0; k < nitems(rule_kinds); k++) {
		for (i = 0; rule_kinds[k].opts[i].name != NULL; i++) {
			if (n + 1 >= max)
				return -1;
			/* Two kinds cannot share an option name. */
			for (j = 0; j < n; j++) {
				if (strcmp(out[j].name,
				    rule_kinds[k].opts[i].name) == 0)
					return -1;
			}
			out[n++] = rule_kinds[k].opts[i];
		}
	}
	out[n] = end[0];
	return 0;
}

/*
 * Screening the text before libconfuse sees it. Its scanner has traps a
 * security tool cannot live with:
 *  - "${NAME}" in double quotes or a bare word becomes the environment
 *    variable NAME, so whoever runs a setgid tool could choose values;
 *  - a comment inside a list is a syntax error, and every C comment adds
 *    one to the line numbers of all later messages;
 *  - an unterminated double-quoted string or C comment, or a section not
 *    closed, silently ends the file;
 *  - "\0" in a string silently cuts the value short.
 * So walk the text the way the scanner does (flex: longest match, first
 * rule on a tie) and hand it a copy with comments blanked (newlines kept)
 * and "${" in double quotes written "\x24{"; report the rest.
 */

enum scan_state {
	SCAN_TOP,
	SCAN_DQUOTE,
	SCAN_SQUOTE,
	SCAN_LINE_COMMENT,
	SCAN_C_COMMENT,
};

/* Characters of a bare word, as libconfuse's scanner has them. */
static int
bare_char(int c)
{
	return c != '\0' && strchr(" #\"'\t\n\r={}()+,*", c) == NULL;
}

/* A backslash escape in double quotes that stands for a NUL byte. */
static int
nul_escape(const char *p, size_t len)
{
	size_t i, octal;
	unsigned value = 0;

	if (len >= 2 && p[1] >= '0' && p[1] <= '7') {
		for (i = 1; i < len && i <= 3 && p[i] >= '0' && p[i] <= '7'; i++)
			value = value * 8 + (unsigned)(p[i] - '0');
		octal = i;
		for (; i < len && p[i] >= '0' && p[i] <= '9'; i++)
			;
		/* A longer run of digits is libconfuse's own error. */
		return i == octal && value == 0;
	}
	if (len >= 3 && p[1] == 'x' && isxdigit((unsigned char)p[2])) {
		for (i = 2; i < len && i <= 3 && isxdigit((unsigned char)p[i]);
		    i++) {
			if (p[i] != '0')
				return 0;
		}
		return 1;
	}
	return 0;
}

static int
screen(struct loader *ld, const char *in, size_t len, char **out)
{
	enum scan_state state = SCAN_TOP;
	unsigned errors = ld->errors;
	size_t i, j, k, o = 0, dollars = 0;
	int line = 1, start = 0, open_line = 0;
	unsigned long depth = 0;
	char *buf, c;

	for (i = 0; i < len; i++) {
		if (in[i] == '$')
			dollars++;
	}
	if ((buf = malloc(len + 3 * dollars + 1)) == NULL) {
		ld->nomem = 1;
		return -1;
	}
	for (i = 0; i < len;) {
		c = in[i];
		switch (state) {
		case SCAN_TOP:
			if (c == '/' && i + 1 < len && in[i + 1] == '*') {
				state = SCAN_C_COMMENT;
				start = line;
				buf[o++] = ' ';
				buf[o++] = ' ';
				i += 2;
				break;
			}
			if (c == '#') {
				state = SCAN_LINE_COMMENT;
				buf[o++] = ' ';
				i++;
				break;
			}
			if (c == '"' || c == '\'') {
				state = c == '"' ? SCAN_DQUOTE : SCAN_SQUOTE;
				start = line;
				buf[o++] = c;
				i++;
				break;
			}
			if (c == '$' && i + 1 < len && in[i + 1] == '{' &&
			    memchr(in + i + 2, '}', len - i - 2) != NULL) {
				report(ld, line, "${...} outside quotes: the "
				    "environment is never read, put the text "
				    "in quotes");
				for (; in[i] != '}'; i++) {
					if (in[i] == '\n')
						line++;
				}
				i++;
				break;
			}
			if (bare_char(c)) {
				for (j = i; j < len && bare_char(in[j]); j++)
					;
				/* "//" alone starts a comment; "//x" is a
				 * word (the longer match). */
				for (k = i; k < j && in[k] == '/'; k++)
					;
				if (k == j && j - i >= 2) {
					state = SCAN_LINE_COMMENT;
					memset(buf + o, ' ', j - i);
				} else
					memcpy(buf + o, in + i, j - i);
				o += j - i;
				i = j;
				break;
			}
			if (c == '{' && depth++ == 0)
				open_line = line;
			else if (c == '}' && depth > 0)
				depth--;
			else if (c == '\n')
				line++;
			buf[o++] = c;
			i++;
			break;
		case SCAN_LINE_COMMENT:
			if (c == '\n') {
				state = SCAN_TOP;
				line++;
			}
			buf[o++] = c == '\n' ? '\n' : ' ';
			i++;
			break;
		case SCAN_C_COMMENT:
			if (c == '*' && i + 1 < len && in[i + 1] == '/') {
				state = SCAN_TOP;
				buf[o++] = ' ';
				buf[o++] = ' ';
				i += 2;
				break;
			}
			if (c == '\n')
				line++;
			buf[o++] = c == '\n' ? '\n' : ' ';
			i++;
			break;
		case SCAN_DQUOTE:
		case SCAN_SQUOTE:
			if (c == '\\' && i + 1 < len) {
				if (state == SCAN_DQUOTE &&
				    nul_escape(in + i, len - i))
					report(ld, line, "a string cannot hold "
					    "a NUL byte (\\0 escape)");
				if (in[i + 1] == '\n')
					line++;
				buf[o++] = c;
				buf[o++] = in[i + 1];
				i += 2;
				break;
			}
			if (state == SCAN_DQUOTE && c == '$' && i + 1 < len &&
			    in[i + 1] == '{') {
				memcpy(buf + o, "\\x24", 4);
				o += 4;
				i++;
				break;
			}
			if ((state == SCAN_DQUOTE && c == '"') ||
			    (state == SCAN_SQUOTE && c == '\''))
				state = SCAN_TOP;
			else if (c == '\n')
				line++;
			buf[o++] = c;
			i++;
			break;
		}
	}
	buf[o] = '\0';
	if (state == SCAN_DQUOTE || state == SCAN_SQUOTE)
		report(ld, start, "unterminated string (the quote here is never "
		    "closed)");
	else if (state == SCAN_C_COMMENT)
		report(ld, start, "unterminated comment (\"/*\" here is never "
		    "closed)");
	else if (depth > 0)
		report(ld, open_line, "'{' is never closed");
	if (ld->errors != errors) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

/*
 * From libconfuse's tree to structs, with the checks that span options.
 * Values that failed their own check were reported while parsing: here
 * they are skipped quietly.
 */

/* Whether the file sets the option (not just its default). */
static int
given(cfg_t *sec, const char *name)
{
	cfg_opt_t *opt = cfg_getopt(sec, name);

	return opt != NULL && (opt->flags & CFGF_MODIFIED) != 0;
}

static const char *const *
copy_list(struct loader *ld, cfg_t *sec, const char *name, size_t *count,
    int lower)
{
	unsigned i, n = cfg_size(sec, name);
	const char **v;
	char *s, *p;

	*count = 0;
	if ((v = arena_array(ld, n, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((s = copy_str(ld, cfg_getnstr(sec, name, i))) == NULL)
			return NULL;
		for (p = s; lower && *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		v[i] = s;
	}
	*count = n;
	return v;
}

static long
get_duration(cfg_t *sec, const char *name)
{
	const char *v = cfg_getstr(sec, name);
	long seconds;

	if (v == NULL || hoop_parse_duration(v, &seconds) == -1)
		return 0;
	return seconds;
}

static int
get_enum(cfg_t *sec, const char *name, const char *const *names)
{
	return enum_index(names, cfg_getstr(sec, name));
}

static const struct pcre2_real_code_8 *
keep_regex(struct loader *ld, const char *pattern, int anchored)
{
	hoop_config_t *hc = ld->hc;
	pcre2_code *re, **v;
	size_t cap;

	if (pattern == NULL || (re = compile_regex(pattern, anchored, NULL,
	    0)) == NULL) {
		/* Reported while parsing, unless memory ran out. */
		ld->errors++;
		return NULL;
	}
	if (hc->n_codes == hc->cap_codes) {
		cap = hc->cap_codes ? hc->cap_codes * 2 : 8;
		if ((v = reallocarray(hc->codes, cap, sizeof(*v))) == NULL) {
			pcre2_code_free(re);
			ld->nomem = 1;
			return NULL;
		}
		hc->codes = v;
		hc->cap_codes = cap;
	}
	hc->codes[hc->n_codes++] = re;
	return re;
}

/* Likewise "policy=p|rule" "r" { } adds a rule to a policy from outside
 * it: a section must lie within the lines of its parent. */
static void
check_inside(struct loader *ld, cfg_t *parent, cfg_t *sec, const char *label)
{
	int line = section_line(sec);

	if (line < section_line(parent) || line > parent->line)
		report(ld, line, "%s: written outside its %s "
		    "(\"section=title|option\" paths are not supported)", label,
		    parent->name);
}

/* Names of sections: libconfuse checked they are unique. */
static void
check_title(struct loader *ld, cfg_t *sec, const char *label)
{
	if (!valid_name(cfg_title(sec)))
		report(ld, section_line(sec), "%s: invalid name (letters, "
		    "digits, '_', '.' and '-', at most 64, starting with a "
		    "letter or digit)", label);
}

static void
load_issuer(struct loader *ld, cfg_t *sec, struct hoop_issuer *is)
{
	int line = section_line(sec);
	const char *url;
	char label[96];

	snprintf(label, sizeof(label), "issuer \"%.64s\"", cfg_title(sec));
	check_title(ld, sec, label);
	is->name = copy_str(ld, cfg_title(sec));
	url = cfg_getstr(sec, "url");
	is->url = copy_str(ld, url);
	is->jwks_file = copy_str(ld, cfg_getstr(sec, "jwks_file"));
	is->ca_file = copy_str(ld, cfg_getstr(sec, "ca_file"));
	is->audiences = copy_list(ld, sec, "audience", &is->n_audiences, 0);
	is->algorithms = copy_list(ld, sec, "algorithms", &is->n_algorithms,
	    0);
	if (url == NULL)
		report(ld, line, "%s: missing required option 'url'", label);
	else if (is->jwks_file == NULL && strncmp(url, "http://", 7) == 0)
		report(ld, line, "%s: url must start with https:// (http:// "
		    "only goes with jwks_file, where no keys are fetched)",
		    label);
	if (is->jwks_file != NULL && is->ca_file != NULL)
		report(ld, line, "%s: ca_file is for fetching keys, and with "
		    "jwks_file none are fetched", label);
	if (cfg_size(sec, "audience") == 0)
		report(ld, line, "%s: missing required option 'audience' (a "
		    "non-empty list)", label);
	if (cfg_size(sec, "algorithms") == 0)
		report(ld, line, "%s: algorithms must not be empty", label);
	is->clock_skew = given(sec, "clock_skew") ?
	    get_duration(sec, "clock_skew") : ld->hc->clock_skew;
	is->max_token_age = get_duration(sec, "max_token_age");
	is->jwks_cache = get_duration(sec, "jwks_cache");
	is->jwks_refresh_interval = get_duration(sec, "jwks_refresh_interval");
	is->single_use_jti = cfg_getbool(sec, "single_use_jti") == cfg_true;
}

static void
load_claim(struct loader *ld, cfg_t *parent, cfg_t *sec, const char *owner,
    struct hoop_claim_rule *cr)
{
	int line = section_line(sec);
	const char *matches;
	char label[192];

	snprintf(label, sizeof(label), "%s claim \"%.64s\"", owner,
	    cfg_title(sec));
	check_inside(ld, parent, sec, label);
	if (check_claim(cfg_title(sec), NULL, 0) == -1)
		report(ld, line, "%s: invalid claim name (printable ASCII "
		    "without spaces, at most 128)", label);
	cr->claim = copy_str(ld, cfg_title(sec));
	cr->equals = copy_list(ld, sec, "equals", &cr->n_equals, 0);
	matches = cfg_getstr(sec, "matches");
	if (given(sec, "equals") && matches != NULL)
		report(ld, line, "%s: has both equals and matches (use one)",
		    label);
	else if (!given(sec, "equals") && matches == NULL)
		report(ld, line, "%s: needs equals or matches", label);
	else if (matches == NULL && cr->n_equals == 0)
		report(ld, line, "%s: equals must not be empty", label);
	else if (matches != NULL) {
		cr->pattern = copy_str(ld, matches);
		cr->regex = keep_regex(ld, matches, 1);
	}
}

static const struct hoop_issuer *
find_issuer(const hoop_config_t *hc, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < hc->n_issuers; i++) {
		if (hc->issuers[i].name != NULL &&
		    strcmp(hc->issuers[i].name, name) == 0)
			return &hc->issuers[i];
	}
	return NULL;
}

static const struct hoop_identity *
find_identity(const hoop_config_t *hc, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < hc->n_identities; i++) {
		if (hc->identities[i].name != NULL &&
		    strcmp(hc->identities[i].name, name) == 0)
			return &hc->identities[i];
	}
	return NULL;
}

static const struct hoop_target *
find_target(const hoop_config_t *hc, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < hc->n_targets; i++) {
		if (hc->targets[i].name != NULL &&
		    strcmp(hc->targets[i].name, name) == 0)
			return &hc->targets[i];
	}
	return NULL;
}

static void
load_local_groups(struct loader *ld, cfg_t *sec, struct hoop_identity *id)
{
	struct hoop_group_map *map;
	const char *v, *colon;
	unsigned i, n = cfg_size(sec, "local_groups");
	char *group;

	if ((map = arena_array(ld, n, sizeof(*map))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		v = cfg_getnstr(sec, "local_groups", i);
		/* A malformed value was reported while parsing. */
		if (v == NULL || (colon = strchr(v, ':')) == NULL)
			continue;
		if ((group = copy_str(ld, v)) == NULL)
			return;
		group[colon - v] = '\0';
		map[id->n_local_groups].group = group;
		map[id->n_local_groups].local = group + (colon - v) + 1;
		id->n_local_groups++;
	}
	id->local_groups = map;
}

static void
load_identity(struct loader *ld, cfg_t *sec, struct hoop_identity *id)
{
	int line = section_line(sec);
	const char *issuer, *login, *template;
	struct hoop_claim_rule *claims;
	unsigned i, n;
	char label[96];

	snprintf(label, sizeof(label), "identity \"%.64s\"", cfg_title(sec));
	check_title(ld, sec, label);
	id->name = copy_str(ld, cfg_title(sec));

	issuer = cfg_getstr(sec, "issuer");
	if (issuer == NULL)
		report(ld, line, "%s: missing required option 'issuer'", label);
	else if ((id->issuer = find_issuer(ld->hc, issuer)) == NULL &&
	    valid_name(issuer))
		report(ld, line, "%s: issuer \"%.64s\" is not declared", label,
		    issuer);

	n = cfg_size(sec, "claim");
	/* Without a condition on its claims, an identity takes any token
	 * the issuer signs for the audience: with a public CI issuer, any
	 * workflow in the world. */
	if (n == 0)
		report(ld, line, "%s: no claim rules: any token from the "
		    "issuer would match; add claim sections (sub, repository, "
		    "...)", label);
	if ((claims = arena_array(ld, n, sizeof(*claims))) != NULL) {
		for (i = 0; i < n; i++)
			load_claim(ld, sec, cfg_getnsec(sec, "claim", i),
			    label, &claims[i]);
		id->claims = claims;
		id->n_claims = n;
	}

	login = cfg_getstr(sec, "login");
	template = cfg_getstr(sec, "login_template");
	if (login != NULL && template != NULL)
		report(ld, line, "%s: has both login and login_template (use "
		    "one)", label);
	else if (login == NULL && template == NULL)
		report(ld, line, "%s: needs login or login_template", label);
	id->login = copy_str(ld, login);
	id->login_template = copy_str(ld, template);

	id->groups = copy_list(ld, sec, "groups", &id->n_groups, 0);
	id->groups_claim = copy_str(ld, cfg_getstr(sec, "groups_claim"));
	id->max_session = get_duration(sec, "max_session");
	id->token_grace = get_duration(sec, "token_grace");
	id->idle_timeout = get_duration(sec, "idle_timeout");
	id->home = cfg_getbool(sec, "home") == cfg_true;
	id->disabled = cfg_getbool(sec, "disabled") == cfg_true;
	load_local_groups(ld, sec, id);
	id->record_input = cfg_getbool(sec, "record_input") == cfg_true;
	if (hoop_parse_size(cfg_getstr(sec, "recording_max_size"),
	    &id->recording_max_size) == -1)
		id->recording_max_size = 0;	/* reported while parsing */
	if (get_enum(sec, "recording_limit", recording_limit_names) != -1)
		id->recording_limit = (enum hoop_recording_limit)get_enum(sec,
		    "recording_limit", recording_limit_names);
}

static void
load_target(struct loader *ld, cfg_t *sec, struct hoop_target *t)
{
	int line = section_line(sec), type;
	char label[96];

	snprintf(label, sizeof(label), "target \"%.64s\"", cfg_title(sec));
	check_title(ld, sec, label);
	t->name = copy_str(ld, cfg_title(sec));
	t->host = copy_str(ld, cfg_getstr(sec, "host"));
	t->port = cfg_getint(sec, "port");
	t->database = copy_str(ld, cfg_getstr(sec, "database"));
	t->user = copy_str(ld, cfg_getstr(sec, "user"));
	t->server = copy_str(ld, cfg_getstr(sec, "server"));
	t->ca_file = copy_str(ld, cfg_getstr(sec, "ca_file"));
	t->secret_file = copy_str(ld, cfg_getstr(sec, "secret_file"));
	if (get_enum(sec, "tls", tls_names) != -1)
		t->tls = (enum hoop_tls_mode)get_enum(sec, "tls", tls_names);

	if (cfg_getstr(sec, "type") == NULL) {
		report(ld, line, "%s: missing required option 'type' "
		    "(postgres, kubernetes or ssh)", label);
		return;
	}
	if ((type = get_enum(sec, "type", target_type_names)) == -1)
		return;
	t->type = (enum hoop_target_type)type;

	switch (t->type) {
	case HOOP_TARGET_POSTGRES:
		if (t->host == NULL)
			report(ld, line, "%s: a postgres target needs host (a "
			    "name, an address or a socket directory)", label);
		if (t->user == NULL)
			report(ld, line, "%s: a postgres target needs user",
			    label);
		if (t->server != NULL)
			report(ld, line, "%s: server does not apply to a "
			    "postgres target", label);
		if (!given(sec, "port"))
			t->port = 5432;
		break;
	case HOOP_TARGET_KUBERNETES:
		if (t->server == NULL)
			report(ld, line, "%s: a kubernetes target needs server",
			    label);
		if (t->host != NULL || given(sec, "port") ||
		    t->database != NULL || t->user != NULL)
			report(ld, line, "%s: host, port, database and user do "
			    "not apply to a kubernetes target", label);
		if (t->tls == HOOP_TLS_DISABLE)
			report(ld, line, "%s: a kubernetes API server is always "
			    "reached over TLS", label);
		t->port = 0;
		break;
	case HOOP_TARGET_SSH:
		if (t->host == NULL)
			report(ld, line, "%s: an ssh target needs host", label);
		else if (t->host[0] == '/')
			report(ld, line, "%s: an ssh host cannot be a path",
			    label);
		if (t->server != NULL || t->database != NULL ||
		    given(sec, "tls"))
			report(ld, line, "%s: server, database and tls do not "
			    "apply to an ssh target", label);
		if (!given(sec, "port"))
			t->port = 22;
		break;
	}
}

static void
load_shell(struct loader *ld, cfg_t *sec, const char *label, int line,
    struct hoop_rule *r)
{
	struct hoop_shell_match *m = &r->match.shell;

	m->commands = copy_list(ld, sec, "commands", &m->n_commands, 0);
	if (cfg_size(sec, "commands") == 0)
		report(ld, line, "%s: commands must not be empty", label);
}

static void
load_sql(struct loader *ld, cfg_t *sec, const char *label, int line,
    struct hoop_rule *r)
{
	struct hoop_sql_match *m = &r->match.sql;
	unsigned i, n = cfg_size(sec, "statements");
	int bit;

	for (i = 0; i < n; i++) {
		bit = enum_index(sql_class_names,
		    cfg_getnstr(sec, "statements", i));
		if (bit != -1)
			m->statements |= 1u << bit;
	}
	m->functions = copy_list(ld, sec, "functions", &m->n_functions, 1);
	if (n == 0 && cfg_size(sec, "functions") == 0)
		report(ld, line, "%s: an sql rule needs statements or "
		    "functions", label);
}

static void
load_kube(struct loader *ld, cfg_t *sec, const char *label, int line,
    struct hoop_rule *r)
{
	struct hoop_kube_match *m = &r->match.kube;
	unsigned i, n = cfg_size(sec, "verbs");
	const char *v;
	int bit;

	for (i = 0; i < n; i++) {
		v = cfg_getnstr(sec, "verbs", i);
		if (v != NULL && strcmp(v, "*") == 0)
			m->verbs |= HOOP_KUBE_ALL_VERBS;
		else if ((bit = enum_index(kube_verb_names, v)) != -1)
			m->verbs |= 1u << bit;
	}
	m->api_groups = copy_list(ld, sec, "api_groups", &m->n_api_groups, 0);
	m->resources = copy_list(ld, sec, "resources", &m->n_resources, 0);
	m->namespaces = copy_list(ld, sec, "namespaces", &m->n_namespaces, 0);
	m->names = copy_list(ld, sec, "names", &m->n_names, 0);
	if (n == 0)
		report(ld, line, "%s: a kube rule needs verbs", label);
	if (cfg_size(sec, "resources") == 0)
		report(ld, line, "%s: a kube rule needs resources", label);
}

static int
kind_given(const struct rule_kind *k, cfg_t *sec)
{
	size_t i;

	for (i = 0; k->opts[i].name != NULL; i++) {
		if (given(sec, k->opts[i].name))
			return 1;
	}
	return 0;
}

static void
load_rule(struct loader *ld, cfg_t *parent, cfg_t *sec, const char *policy,
    struct hoop_rule *r)
{
	int line = section_line(sec), action, v;
	const struct rule_kind *kind = NULL;
	char label[192], kinds[128] = "";
	size_t i, n_kinds = 0;

	snprintf(label, sizeof(label), "%s rule \"%.64s\"", policy,
	    cfg_title(sec));
	check_title(ld, sec, label);
	check_inside(ld, parent, sec, label);
	r->name = copy_str(ld, cfg_title(sec));
	r->reason = copy_str(ld, cfg_getstr(sec, "reason"));

	action = get_enum(sec, "action", action_names);
	if (cfg_getstr(sec, "action") == NULL)
		report(ld, line, "%s: missing required option 'action' (allow, "
		    "deny or approve)", label);
	else if (action != -1)
		r->action = (enum hoop_rule_action)action;

	r->approvers = copy_list(ld, sec, "approvers", &r->n_approvers, 0);
	r->approvals_required = cfg_getint(sec, "approvals_required");
	if ((v = get_enum(sec, "approval_mode", approval_mode_names)) != -1)
		r->approval_mode = (enum hoop_approval_mode)v;
	if ((v = get_enum(sec, "approval_covers", approval_covers_names)) != -1)
		r->approval_covers = (enum hoop_approval_covers)v;
	r->approval_grant = get_duration(sec, "approval_grant");
	r->approval_timeout = get_duration(sec, "approval_timeout");
	if (action == HOOP_ACTION_APPROVE) {
		if (cfg_size(sec, "approvers") == 0)
			report(ld, line, "%s: action approve needs approvers "
			    "(groups)", label);
		if (given(sec, "approval_grant") &&
		    r->approval_covers != HOOP_APPROVAL_GRANT)
			report(ld, line, "%s: approval_grant only applies with "
			    "approval_covers = grant", label);
	} else if (action != -1) {
		for (i = 0; approval_options[i] != NULL; i++) {
			if (given(sec, approval_options[i]))
				report(ld, line, "%s: %s only applies with "
				    "action = approve", label,
				    approval_options[i]);
		}
	}

	for (i = 0; i < nitems(rule_kinds); i++) {
		if (!kind_given(&rule_kinds[i], sec))
			continue;
		kind = &rule_kinds[i];
		n_kinds++;
		snprintf(kinds + strlen(kinds), sizeof(kinds) - strlen(kinds),
		    "%s%s", n_kinds > 1 ? ", " : "", kind->name);
	}
	if (n_kinds == 0) {
		report(ld, line, "%s: no matcher (commands; statements, "
		    "functions; verbs, api_groups, resources, namespaces, "
		    "names)", label);
		return;
	}
	if (n_kinds > 1) {
		report(ld, line, "%s: mixes matchers of several kinds (%s): use "
		    "one kind per rule", label, kinds);
		return;
	}
	r->kind = kind->kind;
	kind->load(ld, sec, label, line, r);
}

static void
load_mask(struct loader *ld, cfg_t *parent, cfg_t *sec, const char *policy,
    struct hoop_mask *m)
{
	int line = section_line(sec), v;
	const char *pattern;
	char label[192], why[512];

	snprintf(label, sizeof(label), "%s mask \"%.64s\"", policy,
	    cfg_title(sec));
	check_title(ld, sec, label);
	check_inside(ld, parent, sec, label);
	m->name = copy_str(ld, cfg_title(sec));
	m->columns = copy_list(ld, sec, "columns", &m->n_columns, 1);
	pattern = cfg_getstr(sec, "pattern");
	if (pattern != NULL) {
		m->pattern = copy_str(ld, pattern);
		if (strncmp(pattern, BUILTIN_PREFIX,
		    strlen(BUILTIN_PREFIX)) == 0)
			m->builtin = m->pattern != NULL ? m->pattern +
			    strlen(BUILTIN_PREFIX) : NULL;
		else
			m->regex = keep_regex(ld, pattern, 0);
	}
	if (cfg_size(sec, "columns") == 0 && pattern == NULL)
		report(ld, line, "%s: needs columns or pattern", label);
	if ((v = get_enum(sec, "strategy", strategy_names)) != -1)
		m->strategy = (enum hoop_mask_strategy)v;
	m->keep = cfg_getint(sec, "keep");
	if (given(sec, "keep") && v != -1 && m->strategy != HOOP_MASK_PARTIAL)
		report(ld, line, "%s: keep only applies to strategy = partial",
		    label);
	/* An unkeyed hash of a name or a phone number is undone by
	 * hashing guesses: hash masks need the secret key. */
	if (v == HOOP_MASK_HASH && !ld->key_reported &&
	    ld->hc->mask_key_file != NULL &&
	    check_secret_file(ld->hc->mask_key_file, why, sizeof(why)) == -1) {
		ld->key_reported = 1;
		report(ld, line, "%s: strategy = hash needs the mask key: "
		    "mask_key_file: %s (make one with: openssl rand -hex 32 "
		    "> FILE; chgrp hoop FILE; chmod 0640 FILE)",
		    label, why);
	}
}

static void
load_policy(struct loader *ld, cfg_t *sec, struct hoop_policy *p)
{
	int line = section_line(sec);
	const struct hoop_identity **ids;
	const struct hoop_target **targets;
	struct hoop_rule *rules;
	struct hoop_mask *masks;
	unsigned i, n;
	const char *name;
	char label[96];

	snprintf(label, sizeof(label), "policy \"%.64s\"", cfg_title(sec));
	check_title(ld, sec, label);
	p->name = copy_str(ld, cfg_title(sec));

	n = cfg_size(sec, "identities");
	if ((ids = arena_array(ld, n, sizeof(*ids))) != NULL) {
		for (i = 0; i < n; i++) {
			name = cfg_getnstr(sec, "identities", i);
			ids[i] = find_identity(ld->hc, name);
			if (ids[i] == NULL && valid_name(name))
				report(ld, line, "%s: identity \"%.64s\" is not "
				    "declared", label, name);
		}
		p->identities = ids;
		p->n_identities = n;
	}
	p->groups = copy_list(ld, sec, "groups", &p->n_groups, 0);
	n = cfg_size(sec, "targets");
	if ((targets = arena_array(ld, n, sizeof(*targets))) != NULL) {
		for (i = 0; i < n; i++) {
			name = cfg_getnstr(sec, "targets", i);
			targets[i] = find_target(ld->hc, name);
			if (targets[i] == NULL && valid_name(name))
				report(ld, line, "%s: target \"%.64s\" is not "
				    "declared", label, name);
		}
		p->targets = targets;
		p->n_targets = n;
	}
	if (cfg_size(sec, "identities") == 0 && cfg_size(sec, "groups") == 0)
		report(ld, line, "%s: needs identities or groups (who it is "
		    "for)", label);
	if (cfg_size(sec, "targets") == 0)
		report(ld, line, "%s: needs targets", label);

	n = cfg_size(sec, "rule");
	if ((rules = arena_array(ld, n, sizeof(*rules))) != NULL) {
		for (i = 0; i < n; i++)
			load_rule(ld, sec, cfg_getnsec(sec, "rule", i),
			    label, &rules[i]);
		p->rules = rules;
		p->n_rules = n;
	}
	n = cfg_size(sec, "mask");
	if ((masks = arena_array(ld, n, sizeof(*masks))) != NULL) {
		for (i = 0; i < n; i++)
			load_mask(ld, sec, cfg_getnsec(sec, "mask", i),
			    label, &masks[i]);
		p->masks = masks;
		p->n_masks = n;
	}
	if (get_enum(sec, "mask_computed", mask_computed_names) != -1)
		p->mask_computed = (enum hoop_mask_computed)get_enum(sec,
		    "mask_computed", mask_computed_names);
}

/*
 * A fixed login's uid is a hash of its name (hoop_nssdb_login_uid): two
 * different fixed logins with the same uid could never be live at once,
 * and the second login would be refused at run time. Say so now.
 */
static void
check_login_uids(struct loader *ld, cfg_t *root)
{
	hoop_config_t *hc = ld->hc;
	const struct hoop_identity *a, *b;
	uint32_t ua, ub;
	size_t i, j;

	if (hc->uid_min == 0 || hc->uid_max == 0 || hc->uid_min >= hc->uid_max)
		return;
	for (j = 1; j < hc->n_identities; j++) {
		b = &hc->identities[j];
		if (b->login == NULL)
			continue;
		ub = hoop_nssdb_login_uid(b->login, (uint32_t)hc->uid_min,
		    (uint32_t)hc->uid_max);
		for (i = 0; i < j; i++) {
			a = &hc->identities[i];
			if (a->login == NULL || strcmp(a->login, b->login) == 0)
				continue;
			ua = hoop_nssdb_login_uid(a->login,
			    (uint32_t)hc->uid_min, (uint32_t)hc->uid_max);
			if (ua != ub)
				continue;
			report(ld, section_line(cfg_getnsec(root, "identity",
			    (unsigned)j)), "identity \"%.64s\": login \"%s\" "
			    "gets uid %lu, as does login \"%s\" of identity "
			    "\"%.64s\"; both could not be logged in at once: "
			    "rename one or widen uid_min..uid_max", b->name,
			    b->login, (unsigned long)ub, a->login, a->name);
			break;
		}
	}
}

/* A template as an nss_hoop pattern: its one ${claim} becomes '*'. */
static void
template_pattern(const char *template, char *out, size_t size)
{
	const char *open = strstr(template, "${"), *close;

	close = open != NULL ? strchr(open, '}') : NULL;
	if (open == NULL || close == NULL) {
		snprintf(out, size, "%s", template);
		return;
	}
	snprintf(out, size, "%.*s*%s", (int)(open - template), template,
	    close + 1);
}

/* 1 if some name matches both one-'*' patterns: their literal heads and
 * tails must agree as far as the shorter one goes. */
static int
patterns_overlap(const char *a, const char *b)
{
	const char *sa = strchr(a, '*'), *sb = strchr(b, '*');
	size_t ha, hb, ta, tb, h, t;

	/* A template the loader already refused may have no '*'. */
	if (sa == NULL || sb == NULL)
		return sa == NULL && sb == NULL ? strcmp(a, b) == 0 :
		    hoop_nssdb_pattern_match(sa == NULL ? b : a,
		    sa == NULL ? a : b);
	ha = (size_t)(sa - a);
	hb = (size_t)(sb - b);
	ta = strlen(sa + 1);
	tb = strlen(sb + 1);
	h = ha < hb ? ha : hb;
	t = ta < tb ? ta : tb;
	return strncmp(a, b, h) == 0 &&
	    strcmp(sa + 1 + ta - t, sb + 1 + tb - t) == 0;
}

/*
 * Sessions of one login share a uid, a home and each other's processes,
 * so two identities must never be able to produce the same login name:
 * no fixed login twice, no fixed login a template could produce, no two
 * templates whose names can meet.
 */
static void
check_name_overlap(struct loader *ld, cfg_t *root)
{
	hoop_config_t *hc = ld->hc;
	const struct hoop_identity *a, *b;
	char pa[64], pb[64];
	size_t i, j;
	int clash;

	for (j = 1; j < hc->n_identities; j++) {
		b = &hc->identities[j];
		for (i = 0; i < j; i++) {
			a = &hc->identities[i];
			if (a->login != NULL && b->login != NULL)
				clash = strcmp(a->login, b->login) == 0;
			else if (a->login_template != NULL &&
			    b->login_template != NULL) {
				template_pattern(a->login_template, pa,
				    sizeof(pa));
				template_pattern(b->login_template, pb,
				    sizeof(pb));
				clash = patterns_overlap(pa, pb);
			} else if (a->login != NULL &&
			    b->login_template != NULL) {
				template_pattern(b->login_template, pb,
				    sizeof(pb));
				clash = hoop_nssdb_pattern_match(pb, a->login);
			} else if (b->login != NULL &&
			    a->login_template != NULL) {
				template_pattern(a->login_template, pa,
				    sizeof(pa));
				clash = hoop_nssdb_pattern_match(pa, b->login);
			} else
				clash = 0;
			if (!clash)
				continue;
			report(ld, section_line(cfg_getnsec(root, "identity",
			    (unsigned)j)), "identity \"%.64s\" and identity "
			    "\"%.64s\" can both log in as the same name (%s / "
			    "%s): give each its own login or template prefix",
			    b->name, a->name, b->login != NULL ? b->login :
			    b->login_template, a->login != NULL ? a->login :
			    a->login_template);
			break;
		}
	}
}

/*
 * Notifications (lib/notify.c): a webhook or a command hook per section.
 */

static const char *const notify_format_names[] = { "json", "slack", NULL };

#define NOTIFY_TIMEOUT_MAX 60
#define NOTIFY_ARGV_MAX 64

static int
check_notify_format(const char *v, char *why, size_t len)
{
	return check_enum(notify_format_names, v, why, len);
}

/* https anywhere; http only to loopback (the same rule as lib/http.c),
 * since the body names who asked for what. */
static int
check_webhook_url(const char *v, char *why, size_t len)
{
	const char *host, *end;
	size_t n;

	if (check_url_scheme(v, 0, why, len) == -1)
		return -1;
	host = v + (strncmp(v, "https://", 8) == 0 ? 8 : 7);
	end = host + strcspn(host, "/?#");
	if (memchr(host, '@', (size_t)(end - host)) != NULL) {
		snprintf(why, len, "\"%.64s\": no user or password in the URL",
		    v);
		return -1;
	}
	if (host == v + 8)
		return 0;
	/* The host without its port ("[::1]" keeps its brackets). */
	n = (size_t)(end - host);
	if (*host != '[' && memchr(host, ':', n) != NULL)
		n = (size_t)((const char *)memchr(host, ':', n) - host);
	else if (*host == '[' && memchr(host, ']', n) != NULL)
		n = (size_t)((const char *)memchr(host, ']', n) - host) + 1;
	if ((n == 9 && strncmp(host, "localhost", 9) == 0) ||
	    (n == 5 && strncmp(host, "[::1]", 5) == 0) ||
	    (n > 4 && strncmp(host, "127.", 4) == 0 &&
	    strspn(host, "0123456789.") == n))
		return 0;
	snprintf(why, len, "\"%.64s\": http:// only to loopback (127.0.0.1, "
	    "[::1], localhost); use https://", v);
	return -1;
}

VALUE_CB(cb_notify_format, check_notify_format)
VALUE_CB(cb_webhook_url, check_webhook_url)

static cfg_opt_t notify_opts[] = {
	LINE_OPT,
	CFG_STR_CB("url", 0, CFGF_NONE, cb_webhook_url),
	CFG_STR_CB("secret_file", 0, CFGF_NONE, cb_secret_file),
	CFG_STR_CB("ca_file", 0, CFGF_NONE, cb_key_file),
	CFG_STR_CB("format", "json", CFGF_NONE, cb_notify_format),
	CFG_STR_LIST_CB("command", 0, CFGF_NONE, cb_text),
	CFG_STR_CB("timeout", "5s", CFGF_NONE, cb_period),
	CFG_END()
};

static void
load_notify(struct loader *ld, cfg_t *sec, struct hoop_notify *n)
{
	int line = section_line(sec), v;
	char label[96], why[256];

	snprintf(label, sizeof(label), "notify \"%.64s\"", cfg_title(sec));
	check_title(ld, sec, label);
	n->name = copy_str(ld, cfg_title(sec));
	n->url = copy_str(ld, cfg_getstr(sec, "url"));
	n->secret_file = copy_str(ld, cfg_getstr(sec, "secret_file"));
	n->ca_file = copy_str(ld, cfg_getstr(sec, "ca_file"));
	n->command = copy_list(ld, sec, "command", &n->n_command, 0);
	if ((v = get_enum(sec, "format", notify_format_names)) != -1)
		n->format = (enum hoop_notify_format)v;
	n->timeout = get_duration(sec, "timeout");
	if (given(sec, "url") == given(sec, "command"))
		report(ld, line, "%s: needs url (a webhook) or command (a "
		    "hook), one of the two", label);
	if (given(sec, "command") && (n->n_command == 0 ||
	    n->n_command > NOTIFY_ARGV_MAX))
		report(ld, line, "%s: command must have 1 to %d words", label,
		    NOTIFY_ARGV_MAX);
	else if (n->n_command > 0 && n->command[0] != NULL &&
	    check_path(n->command[0], why, sizeof(why)) == -1)
		report(ld, line, "%s: command: the program must be an absolute "
		    "path: %s", label, why);
	if (!given(sec, "url") && (given(sec, "secret_file") ||
	    given(sec, "ca_file") || given(sec, "format")))
		report(ld, line, "%s: secret_file, ca_file and format go with "
		    "url only", label);
	if (n->timeout > NOTIFY_TIMEOUT_MAX)
		report(ld, line, "%s: timeout is at most %ds", label,
		    NOTIFY_TIMEOUT_MAX);
}

static void
load_all(struct loader *ld, cfg_t *root)
{
	hoop_config_t *hc = ld->hc;
	unsigned i, n;

	hc->store = copy_str(ld, cfg_getstr(root, "store"));
	hc->recordings = copy_str(ld, cfg_getstr(root, "recordings"));
	hc->mask_key_file = copy_str(ld, cfg_getstr(root, "mask_key_file"));
	hc->home_base = copy_str(ld, cfg_getstr(root, "home_base"));
	hc->login_shell = copy_str(ld, cfg_getstr(root, "login_shell"));
	hc->nss_enumerate = cfg_getbool(root, "nss_enumerate") == cfg_true;
	hc->shell_path = copy_list(ld, root, "shell_path", &hc->n_shell_path, 0);
	hc->clock_skew = get_duration(root, "clock_skew");
	hc->uid_min = cfg_getint(root, "uid_min");
	hc->uid_max = cfg_getint(root, "uid_max");
	/* 0 means the value itself was wrong, which was reported. */
	if (hc->uid_min != 0 && hc->uid_max != 0 && hc->uid_min >= hc->uid_max)
		report(ld, ld->uid_line, "uid_min (%ld) must be below uid_max "
		    "(%ld)", hc->uid_min, hc->uid_max);
	/* nobody, and (uid_t)-1 of 16-bit interfaces. */
	else if (hc->uid_min != 0 && hc->uid_max != 0 &&
	    hc->uid_min <= 65535 && hc->uid_max >= 65534)
		report(ld, ld->uid_line, "uid_min..uid_max (%ld..%ld) includes "
		    "65534 (nobody) or 65535: choose a range without them",
		    hc->uid_min, hc->uid_max);

	/* Sections referred to come first, so references can resolve. */
	n = cfg_size(root, "issuer");
	if ((hc->issuers = arena_array(ld, n, sizeof(*hc->issuers))) != NULL) {
		hc->n_issuers = n;
		for (i = 0; i < n; i++)
			load_issuer(ld, cfg_getnsec(root, "issuer", i),
			    &hc->issuers[i]);
	}
	n = cfg_size(root, "target");
	if ((hc->targets = arena_array(ld, n, sizeof(*hc->targets))) != NULL) {
		hc->n_targets = n;
		for (i = 0; i < n; i++)
			load_target(ld, cfg_getnsec(root, "target", i),
			    &hc->targets[i]);
	}
	n = cfg_size(root, "identity");
	if ((hc->identities = arena_array(ld, n, sizeof(*hc->identities))) !=
	    NULL) {
		hc->n_identities = n;
		for (i = 0; i < n; i++)
			load_identity(ld, cfg_getnsec(root, "identity", i),
			    &hc->identities[i]);
		check_login_uids(ld, root);
		check_name_overlap(ld, root);
	}
	n = cfg_size(root, "policy");
	if ((hc->policies = arena_array(ld, n, sizeof(*hc->policies))) !=
	    NULL) {
		hc->n_policies = n;
		for (i = 0; i < n; i++)
			load_policy(ld, cfg_getnsec(root, "policy", i),
			    &hc->policies[i]);
	}
	n = cfg_size(root, "notify");
	if ((hc->notifies = arena_array(ld, n, sizeof(*hc->notifies))) !=
	    NULL) {
		hc->n_notifies = n;
		for (i = 0; i < n; i++)
			load_notify(ld, cfg_getnsec(root, "notify", i),
			    &hc->notifies[i]);
	}
}

/*
 * Public API.
 */

const char *
hoop_config_default_path(void)
{
	return HOOP_SYSCONFDIR "/hoop/hoop.conf";
}

hoop_err_t
hoop_config_load_buf(const char *buf, size_t len, const char *name,
    unsigned flags, hoop_config_t **out, hoop_config_diag_fn diag, void *arg)
{
	struct loader ld = { .name = name != NULL ? name : "(config)",
	    .flags = flags, .diag = diag, .arg = arg };
	cfg_opt_t rule_opts[RULE_OPTS_MAX];
	cfg_opt_t policy_opts[] = {
		LINE_OPT,
		CFG_STR_LIST_CB("identities", 0, CFGF_NONE, cb_name),
		CFG_STR_LIST_CB("groups", 0, CFGF_NONE, cb_group),
		CFG_STR_LIST_CB("targets", 0, CFGF_NONE, cb_name),
		CFG_SEC("rule", rule_opts, SECTION_FLAGS),
		CFG_SEC("mask", mask_opts, SECTION_FLAGS),
		CFG_STR_CB("mask_computed", "patterns", CFGF_NONE,
		    cb_mask_computed),
		CFG_END()
	};
	cfg_opt_t root_opts[] = {
		CFG_STR_CB("store", HOOP_LOCALSTATEDIR "/lib/hoop/hoop.db",
		    CFGF_NONE, cb_path),
		CFG_STR_CB("recordings", HOOP_LOCALSTATEDIR
		    "/lib/hoop/recordings", CFGF_NONE, cb_path),
		CFG_STR_CB("clock_skew", "60s", CFGF_NONE, cb_duration),
		CFG_STR_CB("mask_key_file", HOOP_SYSCONFDIR
		    "/hoop/secrets/mask-key", CFGF_NONE, cb_path),
		CFG_INT_CB("uid_min", 60000, CFGF_NONE, cb_uid),
		CFG_INT_CB("uid_max", 60999, CFGF_NONE, cb_uid),
		CFG_STR_CB("home_base", HOOP_LOCALSTATEDIR "/lib/hoop-home",
		    CFGF_NONE, cb_passwd_path),
		CFG_STR_CB("login_shell", HOOP_BINDIR "/hoop-shell",
		    CFGF_NONE, cb_passwd_path),
		CFG_BOOL_CB("nss_enumerate", cfg_false, CFGF_NONE, cb_bool),
		CFG_STR_LIST_CB("shell_path", "{\"" HOOP_WRAPPERDIR "\", "
		    "\"/usr/local/bin\", \"/usr/bin\", \"/bin\"}", CFGF_NONE,
		    cb_path),
		CFG_SEC("issuer", issuer_opts, SECTION_FLAGS),
		CFG_SEC("identity", identity_opts, SECTION_FLAGS),
		CFG_SEC("target", target_opts, SECTION_FLAGS),
		CFG_SEC("policy", policy_opts, SECTION_FLAGS),
		CFG_SEC("notify", notify_opts, SECTION_FLAGS),
		CFG_END()
	};
	hoop_err_t ret = HOOP_ERR_CONFIG;
	hoop_config_t *hc = NULL;
	cfg_t *root = NULL;
	const char *nul;
	char *text = NULL;
	int locked = 0, line;

	if (out == NULL)
		return HOOP_ERR_INVAL;
	*out = NULL;
	if (buf == NULL && len > 0)
		return HOOP_ERR_INVAL;
	if (len > HOOP_CONFIG_MAX_SIZE) {
		report(&ld, 0, "larger than %d bytes: refused",
		    HOOP_CONFIG_MAX_SIZE);
		goto out;
	}
	if (len > 0 && (nul = memchr(buf, '\0', len)) != NULL) {
		for (line = 1; buf < nul; buf++)
			line += *buf == '\n';
		report(&ld, line, "NUL byte in the file (not a text file?)");
		goto out;
	}
	if (screen(&ld, buf != NULL ? buf : "", len, &text) == -1)
		goto out;
	if (build_rule_opts(rule_opts, nitems(rule_opts)) == -1) {
		report(&ld, 0, "internal error: bad rule kind table");
		goto out;
	}
	if ((hc = calloc(1, sizeof(*hc))) == NULL) {
		ld.nomem = 1;
		goto out;
	}
	ld.hc = hc;

	pthread_mutex_lock(&load_lock);
	locked = 1;
	current = &ld;
	if ((root = cfg_init(root_opts, CFGF_NONE)) == NULL) {
		ld.nomem = 1;
		goto out;
	}
	cfg_set_error_function(root, confuse_error);
	if (cfg_parse_buf(root, text) != CFG_SUCCESS) {
		/* Never silent, even if libconfuse was. */
		if (ld.errors == 0)
			report(&ld, 0, "cannot parse the file");
		goto out;
	}
	load_all(&ld, root);
	if (ld.nomem || ld.errors > 0)
		goto out;
	*out = hc;
	hc = NULL;
	ret = HOOP_OK;
out:
	if (root != NULL)
		cfg_free(root);
	if (locked) {
		current = NULL;
		pthread_mutex_unlock(&load_lock);
	}
	if (ld.nomem && ret != HOOP_OK)
		ret = HOOP_ERR_NOMEM;
	hoop_config_free(hc);
	free(text);
	return ret;
}

hoop_err_t
hoop_config_load(const char *path, unsigned flags, hoop_config_t **out,
    hoop_config_diag_fn diag, void *arg)
{
	struct loader ld = { .name = path, .diag = diag, .arg = arg };
	struct stat st;
	hoop_err_t err;
	char *buf = NULL;
	size_t len = 0;

	if (out == NULL || path == NULL)
		return HOOP_ERR_INVAL;
	*out = NULL;
	err = hoop_read_file(path, HOOP_CONFIG_MAX_SIZE, &buf, &len);
	if (err == HOOP_OK) {
		err = hoop_config_load_buf(buf, len, path, flags, out, diag,
		    arg);
		free(buf);
		return err;
	}
	if (err == HOOP_ERR_TOOBIG) {
		report(&ld, 0, "larger than %d bytes: refused",
		    HOOP_CONFIG_MAX_SIZE);
		return HOOP_ERR_CONFIG;
	}
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		report(&ld, 0, "is a symbolic link: refused (name the file "
		    "itself)");
		return HOOP_ERR_CONFIG;
	}
	if (err == HOOP_ERR_INVAL) {
		report(&ld, 0, "not a regular file: refused");
		return HOOP_ERR_CONFIG;
	}
	report(&ld, 0, "cannot read: %s", hoop_strerror(err));
	return err;
}

void
hoop_config_free(hoop_config_t *hc)
{
	struct chunk *c, *next;
	size_t i;

	if (hc == NULL)
		return;
	for (i = 0; i < hc->n_codes; i++)
		pcre2_code_free(hc->codes[i]);
	free(hc->codes);
	for (c = hc->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(hc);
}

const char *
hoop_config_store_path(const hoop_config_t *hc)
{
	return hc->store;
}

const char *
hoop_config_recordings_dir(const hoop_config_t *hc)
{
	return hc->recordings;
}

const char *
hoop_config_mask_key_file(const hoop_config_t *hc)
{
	return hc->mask_key_file;
}

long
hoop_config_clock_skew(const hoop_config_t *hc)
{
	return hc->clock_skew;
}

long
hoop_config_uid_min(const hoop_config_t *hc)
{
	return hc->uid_min;
}

long
hoop_config_uid_max(const hoop_config_t *hc)
{
	return hc->uid_max;
}

const char *
hoop_config_home_base(const hoop_config_t *hc)
{
	return hc->home_base;
}

const char *
hoop_config_login_shell(const hoop_config_t *hc)
{
	return hc->login_shell;
}

int
hoop_config_nss_enumerate(const hoop_config_t *hc)
{
	return hc->nss_enumerate;
}

const char *const *
hoop_config_shell_path(const hoop_config_t *hc, size_t *n)
{
	*n = hc->n_shell_path;
	return hc->shell_path;
}

size_t
hoop_config_issuer_count(const hoop_config_t *hc)
{
	return hc->n_issuers;
}

const struct hoop_issuer *
hoop_config_issuer_at(const hoop_config_t *hc, size_t index)
{
	return index < hc->n_issuers ? &hc->issuers[index] : NULL;
}

const struct hoop_issuer *
hoop_config_issuer(const hoop_config_t *hc, const char *name)
{
	return find_issuer(hc, name);
}

size_t
hoop_config_identity_count(const hoop_config_t *hc)
{
	return hc->n_identities;
}

const struct hoop_identity *
hoop_config_identity_at(const hoop_config_t *hc, size_t index)
{
	return index < hc->n_identities ? &hc->identities[index] : NULL;
}

const struct hoop_identity *
hoop_config_identity(const hoop_config_t *hc, const char *name)
{
	return find_identity(hc, name);
}

size_t
hoop_config_target_count(const hoop_config_t *hc)
{
	return hc->n_targets;
}

const struct hoop_target *
hoop_config_target_at(const hoop_config_t *hc, size_t index)
{
	return index < hc->n_targets ? &hc->targets[index] : NULL;
}

const struct hoop_target *
hoop_config_target(const hoop_config_t *hc, const char *name)
{
	return find_target(hc, name);
}

size_t
hoop_config_policy_count(const hoop_config_t *hc)
{
	return hc->n_policies;
}

const struct hoop_policy *
hoop_config_policy_at(const hoop_config_t *hc, size_t index)
{
	return index < hc->n_policies ? &hc->policies[index] : NULL;
}

const struct hoop_policy *
hoop_config_policy(const hoop_config_t *hc, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < hc->n_policies; i++) {
		if (strcmp(hc->policies[i].name, name) == 0)
			return &hc->policies[i];
	}
	return NULL;
}

size_t
hoop_config_notify_count(const hoop_config_t *hc)
{
	return hc->n_notifies;
}

const struct hoop_notify *
hoop_config_notify_at(const hoop_config_t *hc, size_t index)
{
	return index < hc->n_notifies ? &hc->notifies[index] : NULL;
}

const char *
hoop_target_type_name(enum hoop_target_type type)
{
	if ((unsigned)type >= nitems(target_type_names) - 1)
		return "?";
	return target_type_names[type];
}

const char *
hoop_rule_action_name(enum hoop_rule_action action)
{
	if ((unsigned)action >= nitems(action_names) - 1)
		return "?";
	return action_names[action];
}

const char *
hoop_rule_kind_name(enum hoop_rule_kind kind)
{
	size_t i;

	for (i = 0; i < nitems(rule_kinds); i++) {
		if (rule_kinds[i].kind == kind)
			return rule_kinds[i].name;
	}
	return "?";
}
