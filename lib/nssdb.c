/*
 * The nss_hoop data file: format, reader and builder (hoop_nssdb.h).
 *
 * This file is linked into libnss_hoop.so.2, which runs inside every
 * process on the host: it uses libc only, never NSS itself, and keeps no
 * global state. Everything a file says is checked once when it is opened;
 * a file that fails any check is refused as a whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hoop_nssdb.h"

#define UID_CEILING 2147483647u

struct hoop_nssdb {
	const unsigned char	*base;
	size_t			 len;
	void			*map;		/* ours to unmap, or NULL */
	size_t			 map_len;
	int64_t			 generated;
	uint32_t		 flags;
	uint32_t		 uid_min;
	uint32_t		 uid_max;
	uint32_t		 n_entries;
	uint32_t		 n_slots;
	uint32_t		 n_templates;
	uint32_t		 n_gids;
	uint32_t		 strings_size;
	const unsigned char	*entries;
	const unsigned char	*name_slots;
	const unsigned char	*uid_slots;
	const unsigned char	*templates;
	const unsigned char	*gids;
	const char		*strings;
	const char		*home_base;
	const char		*shell;
};

/*
 * Little-endian access through memcpy: no alignment assumed, whatever
 * the offsets in the file.
 */

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/*
 * Hashes. All three are part of the format: never change them.
 */

static uint64_t
mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t
fnv1a64(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint32_t
hoop_nssdb_login_uid(const char *login, uint32_t uid_min, uint32_t uid_max)
{
	uint64_t h, range;

	if (uid_max < uid_min)
		return uid_min;
	/* A fixed key: the uid must be the same in every process, on every
	 * host, before and after the lease exists. It is not a secret. */
	h = fnv1a64(0xcbf29ce484222325ULL, "hoop-uid-v1:");
	h = mix64(fnv1a64(h, login));
	range = (uint64_t)uid_max - uid_min + 1;
	return uid_min + (uint32_t)(h % range);
}

uint32_t
hoop_nssdb_name_hash(const char *name)
{
	uint32_t h = 0x811c9dc5u;

	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= 0x01000193u;
	}
	return h;
}

uint32_t
hoop_nssdb_uid_hash(uint32_t uid)
{
	uid ^= uid >> 16;
	uid *= 0x85ebca6bu;
	uid ^= uid >> 13;
	uid *= 0xc2b2ae35u;
	uid ^= uid >> 16;
	return uid;
}

/* Eight bytes at a time with a multiply-xorshift step; the tail is
 * padded with zeros, the length is mixed in last. Catches truncation and
 * stray writes; it is not meant to resist forgery (only root writes the
 * file). */
uint64_t
hoop_nssdb_checksum(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	unsigned char word[8];
	uint64_t h = 0x6a09e667f3bcc908ULL, w;
	size_t i, j;

	for (i = 0; i < len; i += 8) {
		for (j = 0; j < 8; j++) {
			/* The checksum field counts as zero. */
			if (i + j >= len || (i + j >= HOOP_NSSDB_H_CHECKSUM &&
			    i + j < HOOP_NSSDB_H_CHECKSUM + 8))
				word[j] = 0;
			else
				word[j] = p[i + j];
		}
		w = get64(word);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return mix64(h ^ (uint64_t)len);
}

int
hoop_nssdb_valid_name(const char *name)
{
	size_t i;

	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return 0;
	for (i = 1; name[i] != '\0'; i++) {
		if (i >= 32)
			return 0;
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
		    name[i] == '-'))
			return 0;
	}
	return 1;
}

static int
valid_pattern(const char *p)
{
	size_t i;

	if (!((p[0] >= 'a' && p[0] <= 'z') || p[0] == '_' || p[0] == '*'))
		return 0;
	for (i = 1; p[i] != '\0'; i++) {
		if (i >= 256)
			return 0;
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '_' ||
		    p[i] == '-' || p[i] == '*'))
			return 0;
	}
	return 1;
}

/* Printable ASCII without ':' (the passwd field separator). */
static int
valid_text(const char *s, int path)
{
	size_t i;

	if (path && s[0] != '/')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= HOOP_NSSDB_MAX_TEXT || (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] > 0x7e || s[i] == ':')
			return 0;
	}
	return 1;
}

/* Glob with '*' only. Iterative, remembering the last star: linear in
 * practice, and names are at most 32 bytes. */
int
hoop_nssdb_pattern_match(const char *pattern, const char *name)
{
	const char *p = pattern, *n = name, *star = NULL, *resume = NULL;

	while (*n != '\0') {
		if (*p == '*') {
			star = p++;
			resume = n;
		} else if (*p == *n) {
			p++;
			n++;
		} else if (star != NULL) {
			p = star + 1;
			n = ++resume;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/*
 * Reader.
 */

/* [off, off + count * size) lies inside the file, after the header. */
static int
section_ok(size_t len, uint32_t off, uint32_t count, size_t size)
{
	uint64_t end = (uint64_t)off + (uint64_t)count * size;

	if (count == 0)
		return 1;
	return off >= HOOP_NSSDB_HEADER_SIZE && end <= len;
}

enum str_kind { STR_NAME, STR_TEXT, STR_PATH, STR_PATTERN };

static const char *
get_string(const hoop_nssdb_t *db, uint32_t off, enum str_kind kind)
{
	const char *s;

	if (off >= db->strings_size)
		return NULL;
	/* The area ends with a NUL: every string in it is terminated. */
	s = db->strings + off;
	switch (kind) {
	case STR_NAME:
		return hoop_nssdb_valid_name(s) ? s : NULL;
	case STR_TEXT:
		return valid_text(s, 0) ? s : NULL;
	case STR_PATH:
		return valid_text(s, 1) ? s : NULL;
	case STR_PATTERN:
		return valid_pattern(s) ? s : NULL;
	}
	return NULL;
}

static int
valid_uid(uint32_t uid)
{
	/* 65534 and 65535 are nobody and the 16-bit (uid_t)-1. */
	return uid >= HOOP_NSSDB_UID_FLOOR && uid <= UID_CEILING &&
	    uid != 65534 && uid != 65535;
}

static int
check_header(hoop_nssdb_t *db)
{
	const unsigned char *h = db->base;
	uint32_t entries, name_slots, uid_slots, templates, gids, strings;

	if (db->len < HOOP_NSSDB_HEADER_SIZE || db->len > HOOP_NSSDB_MAX_SIZE ||
	    memcmp(h + HOOP_NSSDB_H_MAGIC, HOOP_NSSDB_MAGIC, 8) != 0 ||
	    get32(h + HOOP_NSSDB_H_VERSION) != HOOP_NSSDB_VERSION ||
	    get32(h + HOOP_NSSDB_H_HEADER_SIZE) != HOOP_NSSDB_HEADER_SIZE ||
	    get64(h + HOOP_NSSDB_H_FILE_SIZE) != db->len)
		return -1;
	if (get64(h + HOOP_NSSDB_H_CHECKSUM) !=
	    hoop_nssdb_checksum(db->base, db->len))
		return -1;
	db->generated = (int64_t)get64(h + HOOP_NSSDB_H_GENERATED);
	db->flags = get32(h + HOOP_NSSDB_H_FLAGS);
	db->uid_min = get32(h + HOOP_NSSDB_H_UID_MIN);
	db->uid_max = get32(h + HOOP_NSSDB_H_UID_MAX);
	db->n_entries = get32(h + HOOP_NSSDB_H_N_ENTRIES);
	db->n_slots = get32(h + HOOP_NSSDB_H_N_SLOTS);
	db->n_templates = get32(h + HOOP_NSSDB_H_N_TEMPLATES);
	db->n_gids = get32(h + HOOP_NSSDB_H_N_GIDS);
	db->strings_size = get32(h + HOOP_NSSDB_H_STRINGS_SIZE);
	entries = get32(h + HOOP_NSSDB_H_ENTRIES);
	name_slots = get32(h + HOOP_NSSDB_H_NAME_SLOTS);
	uid_slots = get32(h + HOOP_NSSDB_H_UID_SLOTS);
	templates = get32(h + HOOP_NSSDB_H_TEMPLATES);
	gids = get32(h + HOOP_NSSDB_H_GIDS);
	strings = get32(h + HOOP_NSSDB_H_STRINGS);

	if ((db->flags & ~HOOP_NSSDB_ENUMERATE) != 0)
		return -1;
	/* The whole range must be usable: no system uids, no nobody. */
	if (!valid_uid(db->uid_min) || !valid_uid(db->uid_max) ||
	    db->uid_min > db->uid_max ||
	    (db->uid_min <= 65535 && db->uid_max >= 65534))
		return -1;
	if (db->n_entries > HOOP_NSSDB_MAX_ENTRIES)
		return -1;
	/* A power of two with room to spare: probing always meets an empty
	 * slot (and is bounded by n_slots anyway). */
	if (db->n_entries == 0 ? db->n_slots != 0 :
	    (db->n_slots <= db->n_entries ||
	    (db->n_slots & (db->n_slots - 1)) != 0 ||
	    db->n_slots > 4 * HOOP_NSSDB_MAX_ENTRIES))
		return -1;
	if (!section_ok(db->len, entries, db->n_entries,
	    HOOP_NSSDB_ENTRY_SIZE) ||
	    !section_ok(db->len, name_slots, db->n_slots, 4) ||
	    !section_ok(db->len, uid_slots, db->n_slots, 4) ||
	    !section_ok(db->len, templates, db->n_templates,
	    HOOP_NSSDB_TEMPLATE_SIZE) ||
	    !section_ok(db->len, gids, db->n_gids, 4) ||
	    db->strings_size == 0 ||
	    !section_ok(db->len, strings, db->strings_size, 1))
		return -1;
	db->entries = db->base + entries;
	db->name_slots = db->base + name_slots;
	db->uid_slots = db->base + uid_slots;
	db->templates = db->base + templates;
	db->gids = db->base + gids;
	db->strings = (const char *)db->base + strings;
	if (db->strings[db->strings_size - 1] != '\0')
		return -1;
	if ((db->home_base = get_string(db, get32(h + HOOP_NSSDB_H_HOME_BASE),
	    STR_PATH)) == NULL ||
	    (db->shell = get_string(db, get32(h + HOOP_NSSDB_H_SHELL),
	    STR_PATH)) == NULL)
		return -1;
	return 0;
}

static const unsigned char *
entry(const hoop_nssdb_t *db, uint32_t i)
{
	return db->entries + (size_t)i * HOOP_NSSDB_ENTRY_SIZE;
}

static int
check_entries(const hoop_nssdb_t *db)
{
	const unsigned char *e;
	const char *name;
	uint32_t i, flags, first, n;

	for (i = 0; i < db->n_gids; i++) {
		/* No supplementary root group, whatever a file says. */
		if (get32(db->gids + (size_t)i * 4) == 0)
			return -1;
	}
	for (i = 0; i < db->n_entries; i++) {
		e = entry(db, i);
		flags = get32(e + HOOP_NSSDB_E_FLAGS);
		if ((flags & ~(HOOP_NSSDB_LEASE | HOOP_NSSDB_LOGIN |
		    HOOP_NSSDB_HOME)) != 0 ||
		    (flags & (HOOP_NSSDB_LEASE | HOOP_NSSDB_LOGIN)) == 0)
			return -1;
		if ((name = get_string(db, get32(e + HOOP_NSSDB_E_NAME),
		    STR_NAME)) == NULL ||
		    get32(e + HOOP_NSSDB_E_NAME_HASH) !=
		    hoop_nssdb_name_hash(name) ||
		    get_string(db, get32(e + HOOP_NSSDB_E_GECOS),
		    STR_TEXT) == NULL)
			return -1;
		if ((flags & HOOP_NSSDB_LEASE) &&
		    !valid_uid(get32(e + HOOP_NSSDB_E_UID)))
			return -1;
		first = get32(e + HOOP_NSSDB_E_FIRST_GID);
		n = get32(e + HOOP_NSSDB_E_N_GIDS);
		if ((uint64_t)first + n > db->n_gids)
			return -1;
	}
	for (i = 0; i < db->n_slots; i++) {
		if (get32(db->name_slots + (size_t)i * 4) > db->n_entries)
			return -1;
		n = get32(db->uid_slots + (size_t)i * 4);
		if (n > db->n_entries || (n != 0 && !(get32(entry(db, n - 1) +
		    HOOP_NSSDB_E_FLAGS) & HOOP_NSSDB_LEASE)))
			return -1;
	}
	for (i = 0; i < db->n_templates; i++) {
		e = db->templates + (size_t)i * HOOP_NSSDB_TEMPLATE_SIZE;
		if (get_string(db, get32(e + HOOP_NSSDB_T_PATTERN),
		    STR_PATTERN) == NULL ||
		    get_string(db, get32(e + HOOP_NSSDB_T_GECOS),
		    STR_TEXT) == NULL ||
		    (get32(e + HOOP_NSSDB_T_FLAGS) & ~HOOP_NSSDB_HOME) != 0)
			return -1;
	}
	return 0;
}

hoop_err_t
hoop_nssdb_open_buf(const void *buf, size_t len, hoop_nssdb_t **out)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	hoop_nssdb_t *db = NULL;

	*out = NULL;
	if (buf == NULL)
		goto out;
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	db->base = buf;
	db->len = len;
	if (check_header(db) == -1 || check_entries(db) == -1)
		goto out;
	*out = db;
	db = NULL;
	ret = HOOP_OK;
out:
	free(db);
	return ret;
}

hoop_err_t
hoop_nssdb_open_file(const char *path, hoop_nssdb_t **out, struct stat *st)
{
	hoop_err_t ret = HOOP_ERR_IO;
	struct stat sb;
	void *map = MAP_FAILED;
	size_t len = 0;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd == -1) {
		ret = errno == ENOENT || errno == ENOTDIR ? HOOP_ERR_NOTFOUND :
		    errno == EACCES ? HOOP_ERR_PERM :
		    errno == ELOOP ? HOOP_ERR_INVAL : HOOP_ERR_IO;
		goto out;
	}
	if (fstat(fd, &sb) == -1) {
		ret = HOOP_ERR_IO;
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size < HOOP_NSSDB_HEADER_SIZE ||
	    sb.st_size > (off_t)HOOP_NSSDB_MAX_SIZE) {
		ret = HOOP_ERR_INVAL;
		goto out;
	}
	len = (size_t)sb.st_size;
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		ret = errno == ENOMEM ? HOOP_ERR_NOMEM : HOOP_ERR_IO;
		goto out;
	}
	if ((ret = hoop_nssdb_open_buf(map, len, out)) != HOOP_OK)
		goto out;
	(*out)->map = map;
	(*out)->map_len = len;
	map = MAP_FAILED;
	if (st != NULL)
		*st = sb;
	ret = HOOP_OK;
out:
	if (map != MAP_FAILED)
		munmap(map, len);
	if (fd != -1)
		close(fd);
	return ret;
}

void
hoop_nssdb_free(hoop_nssdb_t *db)
{
	if (db == NULL)
		return;
	if (db->map != NULL)
		munmap(db->map, db->map_len);
	free(db);
}

const char *
hoop_nssdb_default_path(void)
{
	return HOOP_NSSDB_PATH;
}

static void
fill_entry(const hoop_nssdb_t *db, const unsigned char *e,
    struct hoop_nssdb_user *u)
{
	uint32_t flags = get32(e + HOOP_NSSDB_E_FLAGS);

	memset(u, 0, sizeof(*u));
	u->name = db->strings + get32(e + HOOP_NSSDB_E_NAME);
	u->flags = flags;
	u->gecos = db->strings + get32(e + HOOP_NSSDB_E_GECOS);
	u->home_base = db->home_base;
	u->shell = db->shell;
	if (flags & HOOP_NSSDB_LEASE) {
		u->uid = get32(e + HOOP_NSSDB_E_UID);
		u->expires_at = (int64_t)get64(e + HOOP_NSSDB_E_EXPIRES);
		u->n_groups = get32(e + HOOP_NSSDB_E_N_GIDS);
		u->groups = db->gids +
		    (size_t)get32(e + HOOP_NSSDB_E_FIRST_GID) * 4;
	} else
		u->uid = hoop_nssdb_login_uid(u->name, db->uid_min,
		    db->uid_max);
}

uint32_t
hoop_nssdb_user_group(const struct hoop_nssdb_user *u, size_t i)
{
	return i < u->n_groups ? get32(u->groups + i * 4) : 0;
}

static int
live(const unsigned char *e, int64_t now)
{
	return (get32(e + HOOP_NSSDB_E_FLAGS) & HOOP_NSSDB_LEASE) &&
	    (int64_t)get64(e + HOOP_NSSDB_E_EXPIRES) > now;
}

static const unsigned char *
find_name(const hoop_nssdb_t *db, const char *name)
{
	const unsigned char *e;
	uint32_t h, i, mask, s;

	if (db->n_slots == 0)
		return NULL;
	h = hoop_nssdb_name_hash(name);
	mask = db->n_slots - 1;
	for (i = 0; i < db->n_slots; i++) {
		s = get32(db->name_slots + (size_t)((h + i) & mask) * 4);
		if (s == 0)
			break;
		e = entry(db, s - 1);
		if (get32(e + HOOP_NSSDB_E_NAME_HASH) == h &&
		    strcmp(db->strings + get32(e + HOOP_NSSDB_E_NAME),
		    name) == 0)
			return e;
	}
	return NULL;
}

hoop_err_t
hoop_nssdb_by_name(const hoop_nssdb_t *db, const char *name, int64_t now,
    struct hoop_nssdb_user *out)
{
	const unsigned char *e, *t;
	uint32_t i;

	if (name == NULL || !hoop_nssdb_valid_name(name))
		return HOOP_ERR_NOTFOUND;
	e = find_name(db, name);
	if (e != NULL && live(e, now)) {
		fill_entry(db, e, out);
		return HOOP_OK;
	}
	/* A fixed login or a template answers the same before a login as
	 * after its lease ended. */
	if (e != NULL && (get32(e + HOOP_NSSDB_E_FLAGS) & HOOP_NSSDB_LOGIN)) {
		fill_entry(db, e, out);
		out->flags &= ~HOOP_NSSDB_LEASE;
		out->expires_at = 0;
		out->n_groups = 0;
		out->groups = NULL;
		out->uid = hoop_nssdb_login_uid(name, db->uid_min,
		    db->uid_max);
		return HOOP_OK;
	}
	for (i = 0; i < db->n_templates; i++) {
		t = db->templates + (size_t)i * HOOP_NSSDB_TEMPLATE_SIZE;
		if (!hoop_nssdb_pattern_match(db->strings +
		    get32(t + HOOP_NSSDB_T_PATTERN), name))
			continue;
		memset(out, 0, sizeof(*out));
		out->name = name;
		out->uid = hoop_nssdb_login_uid(name, db->uid_min,
		    db->uid_max);
		out->flags = get32(t + HOOP_NSSDB_T_FLAGS);
		out->gecos = db->strings + get32(t + HOOP_NSSDB_T_GECOS);
		out->home_base = db->home_base;
		out->shell = db->shell;
		return HOOP_OK;
	}
	return HOOP_ERR_NOTFOUND;
}

hoop_err_t
hoop_nssdb_by_uid(const hoop_nssdb_t *db, uint32_t uid, int64_t now,
    struct hoop_nssdb_user *out)
{
	const unsigned char *e;
	uint32_t h, i, mask, s;

	if (db->n_slots == 0 || !valid_uid(uid))
		return HOOP_ERR_NOTFOUND;
	h = hoop_nssdb_uid_hash(uid);
	mask = db->n_slots - 1;
	for (i = 0; i < db->n_slots; i++) {
		s = get32(db->uid_slots + (size_t)((h + i) & mask) * 4);
		if (s == 0)
			break;
		e = entry(db, s - 1);
		if (get32(e + HOOP_NSSDB_E_UID) != uid)
			continue;
		/* Expired: the uid is on its way back to the pool. */
		if (!live(e, now))
			return HOOP_ERR_NOTFOUND;
		fill_entry(db, e, out);
		return HOOP_OK;
	}
	return HOOP_ERR_NOTFOUND;
}

int
hoop_nssdb_enumerable(const hoop_nssdb_t *db)
{
	return (db->flags & HOOP_NSSDB_ENUMERATE) != 0;
}

size_t
hoop_nssdb_count(const hoop_nssdb_t *db)
{
	return db->n_entries;
}

hoop_err_t
hoop_nssdb_lease_at(const hoop_nssdb_t *db, size_t index, int64_t now,
    struct hoop_nssdb_user *out)
{
	const unsigned char *e;

	if (index >= db->n_entries)
		return HOOP_ERR_NOTFOUND;
	e = entry(db, (uint32_t)index);
	if (!live(e, now))
		return HOOP_ERR_NOTFOUND;
	fill_entry(db, e, out);
	return HOOP_OK;
}

size_t
hoop_nssdb_template_count(const hoop_nssdb_t *db)
{
	return db->n_templates;
}

const char *
hoop_nssdb_template_at(const hoop_nssdb_t *db, size_t index,
    const char **gecos)
{
	const unsigned char *t;

	if (index >= db->n_templates)
		return NULL;
	t = db->templates + index * HOOP_NSSDB_TEMPLATE_SIZE;
	if (gecos != NULL)
		*gecos = db->strings + get32(t + HOOP_NSSDB_T_GECOS);
	return db->strings + get32(t + HOOP_NSSDB_T_PATTERN);
}

int64_t
hoop_nssdb_generated_at(const hoop_nssdb_t *db)
{
	return db->generated;
}

/*
 * Builder.
 */

struct bentry {
	char		*name;
	char		*gecos;
	uint32_t	 uid;
	unsigned	 flags;
	int64_t		 expires_at;
	uint32_t	*gids;
	size_t		 n_gids;
	size_t		 order;		/* as added: ties keep it */
};

struct btemplate {
	char		*pattern;
	char		*gecos;
	unsigned	 flags;
};

struct hoop_nssdb_builder {
	uint32_t	 uid_min;
	uint32_t	 uid_max;
	unsigned	 flags;
	char		*home_base;
	char		*shell;
	struct bentry	*entries;
	size_t		 n_entries;
	size_t		 cap_entries;
	struct btemplate *templates;
	size_t		 n_templates;
	size_t		 cap_templates;
};

/* The string area under construction, with each string stored once. */
struct strtab {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	uint32_t	*slots;		/* offset + 1, 0 empty */
	size_t		 n_slots;
	size_t		 n_used;
};

static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2 / size)
			return -1;
		n *= 2;
	}
	if ((q = realloc(*p, n * size)) == NULL)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

static int
strtab_rehash(struct strtab *t, size_t n_slots)
{
	uint32_t *slots, h;
	size_t i, j;

	if ((slots = calloc(n_slots, sizeof(*slots))) == NULL)
		return -1;
	for (i = 0; i < t->n_slots; i++) {
		if (t->slots[i] == 0)
			continue;
		h = hoop_nssdb_name_hash(t->buf + t->slots[i] - 1);
		for (j = h & (n_slots - 1); slots[j] != 0;
		    j = (j + 1) & (n_slots - 1))
			;
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->n_slots = n_slots;
	return 0;
}

/* The offset of s in the area, adding it if new; -1 on failure. */
static int64_t
strtab_add(struct strtab *t, const char *s)
{
	size_t n = strlen(s) + 1, j;
	uint32_t h = hoop_nssdb_name_hash(s), off;

	for (j = h & (t->n_slots - 1); t->n_slots > 0 && t->slots[j] != 0;
	    j = (j + 1) & (t->n_slots - 1)) {
		if (strcmp(t->buf + t->slots[j] - 1, s) == 0)
			return t->slots[j] - 1;
	}
	/* New: keep the table at most half full, then find its slot. */
	if ((t->n_used + 1) * 2 > t->n_slots) {
		if (strtab_rehash(t, t->n_slots ? t->n_slots * 2 : 64) == -1)
			return -1;
		for (j = h & (t->n_slots - 1); t->slots[j] != 0;
		    j = (j + 1) & (t->n_slots - 1))
			;
	}
	if (t->len + n > HOOP_NSSDB_MAX_SIZE ||
	    grow((void **)&t->buf, &t->cap, t->len + n, 1) == -1)
		return -1;
	off = (uint32_t)t->len;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->slots[j] = off + 1;
	t->n_used++;
	return off;
}

hoop_err_t
hoop_nssdb_builder_create(uint32_t uid_min, uint32_t uid_max,
    const char *home_base, const char *shell, unsigned flags,
    hoop_nssdb_builder_t **out)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	hoop_nssdb_builder_t *b = NULL;

	*out = NULL;
	if (!valid_uid(uid_min) || !valid_uid(uid_max) || uid_min > uid_max ||
	    (uid_min <= 65535 && uid_max >= 65534) ||
	    home_base == NULL || !valid_text(home_base, 1) ||
	    shell == NULL || !valid_text(shell, 1) ||
	    (flags & ~HOOP_NSSDB_ENUMERATE) != 0)
		goto out;
	ret = HOOP_ERR_NOMEM;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->home_base = strdup(home_base)) == NULL ||
	    (b->shell = strdup(shell)) == NULL)
		goto out;
	b->uid_min = uid_min;
	b->uid_max = uid_max;
	b->flags = flags;
	*out = b;
	b = NULL;
	ret = HOOP_OK;
out:
	hoop_nssdb_builder_free(b);
	return ret;
}

void
hoop_nssdb_builder_free(hoop_nssdb_builder_t *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n_entries; i++) {
		free(b->entries[i].name);
		free(b->entries[i].gecos);
		free(b->entries[i].gids);
	}
	for (i = 0; i < b->n_templates; i++) {
		free(b->templates[i].pattern);
		free(b->templates[i].gecos);
	}
	free(b->entries);
	free(b->templates);
	free(b->home_base);
	free(b->shell);
	free(b);
}

static hoop_err_t
add_entry(hoop_nssdb_builder_t *b, const char *name, const char *gecos,
    unsigned flags, uint32_t uid, int64_t expires_at, const uint32_t *gids,
    size_t n_gids)
{
	struct bentry *e;
	size_t i;

	if (name == NULL || !hoop_nssdb_valid_name(name) || gecos == NULL ||
	    !valid_text(gecos, 0))
		return HOOP_ERR_INVAL;
	for (i = 0; i < n_gids; i++) {
		if (gids[i] == 0)
			return HOOP_ERR_INVAL;
	}
	if (b->n_entries >= HOOP_NSSDB_MAX_ENTRIES)
		return HOOP_ERR_TOOBIG;
	if (grow((void **)&b->entries, &b->cap_entries, b->n_entries + 1,
	    sizeof(*b->entries)) == -1)
		return HOOP_ERR_NOMEM;
	e = &b->entries[b->n_entries];
	memset(e, 0, sizeof(*e));
	if ((e->name = strdup(name)) == NULL ||
	    (e->gecos = strdup(gecos)) == NULL ||
	    (n_gids > 0 && (e->gids = calloc(n_gids, sizeof(*gids))) ==
	    NULL)) {
		free(e->name);
		free(e->gecos);
		return HOOP_ERR_NOMEM;
	}
	if (n_gids > 0)
		memcpy(e->gids, gids, n_gids * sizeof(*gids));
	e->n_gids = n_gids;
	e->flags = flags;
	e->uid = uid;
	e->expires_at = expires_at;
	e->order = b->n_entries++;
	return HOOP_OK;
}

hoop_err_t
hoop_nssdb_builder_add_login(hoop_nssdb_builder_t *b, const char *login,
    const char *gecos, unsigned flags)
{
	if ((flags & ~HOOP_NSSDB_HOME) != 0)
		return HOOP_ERR_INVAL;
	return add_entry(b, login, gecos, flags | HOOP_NSSDB_LOGIN, 0, 0,
	    NULL, 0);
}

hoop_err_t
hoop_nssdb_builder_add_lease(hoop_nssdb_builder_t *b, const char *login,
    uint32_t uid, int64_t expires_at, const char *gecos, unsigned flags,
    const uint32_t *gids, size_t n_gids)
{
	if ((flags & ~HOOP_NSSDB_HOME) != 0 || !valid_uid(uid))
		return HOOP_ERR_INVAL;
	return add_entry(b, login, gecos, flags | HOOP_NSSDB_LEASE, uid,
	    expires_at, gids, n_gids);
}

hoop_err_t
hoop_nssdb_builder_add_template(hoop_nssdb_builder_t *b,
    const char *login_template, const char *gecos, unsigned flags)
{
	struct btemplate *t;
	const char *p, *end;
	char *pattern = NULL, *g = NULL;
	size_t n = 0;

	if (login_template == NULL || gecos == NULL || !valid_text(gecos, 0) ||
	    (flags & ~HOOP_NSSDB_HOME) != 0 || strlen(login_template) > 255)
		return HOOP_ERR_INVAL;
	if ((pattern = malloc(strlen(login_template) + 1)) == NULL)
		return HOOP_ERR_NOMEM;
	/* Each ${claim} becomes '*': any text the claim may hold. */
	for (p = login_template; *p != '\0';) {
		if (p[0] == '$' && p[1] == '{' &&
		    (end = strchr(p + 2, '}')) != NULL) {
			if (n == 0 || pattern[n - 1] != '*')
				pattern[n++] = '*';
			p = end + 1;
		} else
			pattern[n++] = *p++;
	}
	pattern[n] = '\0';
	if (!valid_pattern(pattern)) {
		free(pattern);
		return HOOP_ERR_INVAL;
	}
	if (grow((void **)&b->templates, &b->cap_templates,
	    b->n_templates + 1, sizeof(*b->templates)) == -1 ||
	    (g = strdup(gecos)) == NULL) {
		free(pattern);
		return HOOP_ERR_NOMEM;
	}
	t = &b->templates[b->n_templates++];
	t->pattern = pattern;
	t->gecos = g;
	t->flags = flags;
	return HOOP_OK;
}

static int
by_name(const void *a, const void *b)
{
	const struct bentry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* One entry per name: a lease and a fixed login of that name merge (the
 * lease's details win); two leases of a name are refused. */
static hoop_err_t
merge_entries(hoop_nssdb_builder_t *b)
{
	struct bentry *e = b->entries, tmp;
	size_t i, n = 0;

	if (b->n_entries == 0)
		return HOOP_OK;
	qsort(e, b->n_entries, sizeof(*e), by_name);
	for (i = 1; i < b->n_entries; i++) {
		if (strcmp(e[n].name, e[i].name) != 0) {
			e[++n] = e[i];
			continue;
		}
		if ((e[n].flags & e[i].flags & HOOP_NSSDB_LEASE) != 0)
			return HOOP_ERR_INVAL;
		if (e[i].flags & HOOP_NSSDB_LEASE) {
			tmp = e[n];
			e[n] = e[i];
			e[i] = tmp;
		}
		e[n].flags |= e[i].flags & HOOP_NSSDB_LOGIN;
		free(e[i].name);
		free(e[i].gecos);
		free(e[i].gids);
	}
	b->n_entries = n + 1;
	return HOOP_OK;
}

hoop_err_t
hoop_nssdb_builder_finish(hoop_nssdb_builder_t *b, int64_t now,
    void **image, size_t *len)
{
	hoop_err_t ret = HOOP_ERR_NOMEM;
	struct strtab st = { 0 };
	unsigned char *out = NULL, *p, *name_slots, *uid_slots, *gids;
	uint64_t size, off_entries, off_name, off_uid, off_templates,
	    off_gids, off_strings;
	size_t i, j, n_slots = 0, n_gids = 0, gid_at = 0;
	int64_t s, home, shell;
	uint32_t h, mask, v;

	*image = NULL;
	*len = 0;
	if ((ret = merge_entries(b)) != HOOP_OK)
		goto out;
	ret = HOOP_ERR_NOMEM;
	/* Strings first: their offsets go into everything else. */
	if (strtab_add(&st, "") == -1 ||
	    (home = strtab_add(&st, b->home_base)) == -1 ||
	    (shell = strtab_add(&st, b->shell)) == -1)
		goto out;
	for (i = 0; i < b->n_entries; i++) {
		if (strtab_add(&st, b->entries[i].name) == -1 ||
		    strtab_add(&st, b->entries[i].gecos) == -1)
			goto out;
		n_gids += b->entries[i].n_gids;
	}
	for (i = 0; i < b->n_templates; i++) {
		if (strtab_add(&st, b->templates[i].pattern) == -1 ||
		    strtab_add(&st, b->templates[i].gecos) == -1)
			goto out;
	}
	if (b->n_entries > 0)
		for (n_slots = 8; n_slots < 2 * b->n_entries; n_slots *= 2)
			;
	off_entries = HOOP_NSSDB_HEADER_SIZE;
	off_name = off_entries + (uint64_t)b->n_entries * HOOP_NSSDB_ENTRY_SIZE;
	off_uid = off_name + (uint64_t)n_slots * 4;
	off_templates = off_uid + (uint64_t)n_slots * 4;
	off_gids = off_templates +
	    (uint64_t)b->n_templates * HOOP_NSSDB_TEMPLATE_SIZE;
	off_strings = off_gids + (uint64_t)n_gids * 4;
	size = off_strings + st.len;
	if (size > HOOP_NSSDB_MAX_SIZE) {
		ret = HOOP_ERR_TOOBIG;
		goto out;
	}
	if ((out = calloc(1, (size_t)size)) == NULL)
		goto out;
	name_slots = out + off_name;
	uid_slots = out + off_uid;
	gids = out + off_gids;
	mask = (uint32_t)n_slots - 1;
	for (i = 0; i < b->n_entries; i++) {
		const struct bentry *e = &b->entries[i];

		p = out + off_entries + i * HOOP_NSSDB_ENTRY_SIZE;
		put32(p + HOOP_NSSDB_E_NAME, (uint32_t)strtab_add(&st, e->name));
		put32(p + HOOP_NSSDB_E_NAME_HASH, hoop_nssdb_name_hash(e->name));
		put32(p + HOOP_NSSDB_E_UID, e->uid);
		put32(p + HOOP_NSSDB_E_FLAGS, e->flags);
		put64(p + HOOP_NSSDB_E_EXPIRES, (uint64_t)e->expires_at);
		put32(p + HOOP_NSSDB_E_GECOS,
		    (uint32_t)strtab_add(&st, e->gecos));
		put32(p + HOOP_NSSDB_E_FIRST_GID, (uint32_t)gid_at);
		put32(p + HOOP_NSSDB_E_N_GIDS, (uint32_t)e->n_gids);
		for (j = 0; j < e->n_gids; j++)
			put32(gids + (gid_at++) * 4, e->gids[j]);
		h = hoop_nssdb_name_hash(e->name);
		for (j = h & mask; get32(name_slots + j * 4) != 0;
		    j = (j + 1) & mask)
			;
		put32(name_slots + j * 4, (uint32_t)i + 1);
		if (!(e->flags & HOOP_NSSDB_LEASE))
			continue;
		h = hoop_nssdb_uid_hash(e->uid);
		for (j = h & mask; (v = get32(uid_slots + j * 4)) != 0;
		    j = (j + 1) & mask) {
			if (b->entries[v - 1].uid == e->uid) {
				ret = HOOP_ERR_UID_TAKEN;
				goto out;
			}
		}
		put32(uid_slots + j * 4, (uint32_t)i + 1);
	}
	for (i = 0; i < b->n_templates; i++) {
		p = out + off_templates + i * HOOP_NSSDB_TEMPLATE_SIZE;
		if ((s = strtab_add(&st, b->templates[i].pattern)) == -1)
			goto out;
		put32(p + HOOP_NSSDB_T_PATTERN, (uint32_t)s);
		if ((s = strtab_add(&st, b->templates[i].gecos)) == -1)
			goto out;
		put32(p + HOOP_NSSDB_T_GECOS, (uint32_t)s);
		put32(p + HOOP_NSSDB_T_FLAGS, b->templates[i].flags);
	}
	memcpy(out + off_strings, st.buf, st.len);
	memcpy(out + HOOP_NSSDB_H_MAGIC, HOOP_NSSDB_MAGIC, 8);
	put32(out + HOOP_NSSDB_H_VERSION, HOOP_NSSDB_VERSION);
	put32(out + HOOP_NSSDB_H_HEADER_SIZE, HOOP_NSSDB_HEADER_SIZE);
	put64(out + HOOP_NSSDB_H_FILE_SIZE, size);
	put64(out + HOOP_NSSDB_H_GENERATED, (uint64_t)now);
	put32(out + HOOP_NSSDB_H_FLAGS, b->flags);
	put32(out + HOOP_NSSDB_H_UID_MIN, b->uid_min);
	put32(out + HOOP_NSSDB_H_UID_MAX, b->uid_max);
	put32(out + HOOP_NSSDB_H_HOME_BASE, (uint32_t)home);
	put32(out + HOOP_NSSDB_H_SHELL, (uint32_t)shell);
	put32(out + HOOP_NSSDB_H_N_ENTRIES, (uint32_t)b->n_entries);
	put32(out + HOOP_NSSDB_H_ENTRIES, (uint32_t)off_entries);
	put32(out + HOOP_NSSDB_H_N_SLOTS, (uint32_t)n_slots);
	put32(out + HOOP_NSSDB_H_NAME_SLOTS, (uint32_t)off_name);
	put32(out + HOOP_NSSDB_H_UID_SLOTS, (uint32_t)off_uid);
	put32(out + HOOP_NSSDB_H_N_TEMPLATES, (uint32_t)b->n_templates);
	put32(out + HOOP_NSSDB_H_TEMPLATES, (uint32_t)off_templates);
	put32(out + HOOP_NSSDB_H_N_GIDS, (uint32_t)n_gids);
	put32(out + HOOP_NSSDB_H_GIDS, (uint32_t)off_gids);
	put32(out + HOOP_NSSDB_H_STRINGS, (uint32_t)off_strings);
	put32(out + HOOP_NSSDB_H_STRINGS_SIZE, (uint32_t)st.len);
	put64(out + HOOP_NSSDB_H_CHECKSUM,
	    hoop_nssdb_checksum(out, (size_t)size));
	*image = out;
	*len = (size_t)size;
	out = NULL;
	ret = HOOP_OK;
out:
	free(out);
	free(st.buf);
	free(st.slots);
	return ret;
}
