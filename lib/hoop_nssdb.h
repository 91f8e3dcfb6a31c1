/*
 * The nss_hoop data file: the one file libnss_hoop.so.2 reads. It is
 * world-readable and holds no secrets: the identities' fixed login names
 * and login-name templates (so that names resolve before any login, with
 * no state written) and the live leases. pam_hoop and hoopctl write it
 * (hoop_nssdb_sync); the module maps it read-only.
 *
 * Layout (every integer little-endian; docs: nss_hoop(8)):
 *
 *   header    HOOP_NSSDB_HEADER_SIZE bytes, see the offsets below
 *   entries   n_entries records of HOOP_NSSDB_ENTRY_SIZE bytes
 *   name slots  n_slots u32: entry index + 1, 0 empty; open addressing,
 *             linear probing from name_hash & (n_slots - 1)
 *   uid slots   n_slots u32: the same for lease entries, keyed by uid
 *   templates n_templates records of HOOP_NSSDB_TEMPLATE_SIZE bytes
 *   gids      n_gids u32: the leases' local supplementary groups
 *   strings   NUL-terminated strings; a string is named by its offset
 *             in this area, whose last byte is NUL
 *
 * The reader checks the checksum and every offset, count, string and
 * index once, when it maps a file; lookups then touch a few slots and
 * one entry, whatever the number of leases.
 */
#ifndef HOOP_NSSDB_H
#define HOOP_NSSDB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "hoop_config.h"
#include "hoop_err.h"
#include "hoop_store.h"

#ifndef HOOP_LOCALSTATEDIR
#define HOOP_LOCALSTATEDIR "/var"
#endif
/* Fixed at build time: the module reads no configuration. A test build
 * of the module defines another path (Makefile). */
#ifndef HOOP_NSSDB_PATH
#define HOOP_NSSDB_PATH HOOP_LOCALSTATEDIR "/lib/hoop-nss/passwd.db"
#endif

#define HOOP_NSSDB_MAGIC "HOOPNSDB"
#define HOOP_NSSDB_VERSION 1
#define HOOP_NSSDB_MAX_SIZE (64u * 1024 * 1024)
#define HOOP_NSSDB_MAX_ENTRIES 1000000u
/* No entry ever resolves below this uid, whatever a file says: a
 * corrupt or forged file cannot make anyone root or a system user. */
#define HOOP_NSSDB_UID_FLOOR 1000u

/* Header fields (byte offsets). */
#define HOOP_NSSDB_H_MAGIC 0		/* 8 bytes */
#define HOOP_NSSDB_H_VERSION 8		/* u32 */
#define HOOP_NSSDB_H_HEADER_SIZE 12	/* u32 */
#define HOOP_NSSDB_H_FILE_SIZE 16	/* u64 */
#define HOOP_NSSDB_H_GENERATED 24	/* i64, unix seconds */
#define HOOP_NSSDB_H_FLAGS 32		/* u32 */
#define HOOP_NSSDB_H_UID_MIN 36		/* u32 */
#define HOOP_NSSDB_H_UID_MAX 40		/* u32 */
#define HOOP_NSSDB_H_HOME_BASE 44	/* u32 string */
#define HOOP_NSSDB_H_SHELL 48		/* u32 string */
#define HOOP_NSSDB_H_N_ENTRIES 52	/* u32 */
#define HOOP_NSSDB_H_ENTRIES 56		/* u32 offset */
#define HOOP_NSSDB_H_N_SLOTS 60		/* u32, 0 or a power of two */
#define HOOP_NSSDB_H_NAME_SLOTS 64	/* u32 offset */
#define HOOP_NSSDB_H_UID_SLOTS 68	/* u32 offset */
#define HOOP_NSSDB_H_N_TEMPLATES 72	/* u32 */
#define HOOP_NSSDB_H_TEMPLATES 76	/* u32 offset */
#define HOOP_NSSDB_H_N_GIDS 80		/* u32 */
#define HOOP_NSSDB_H_GIDS 84		/* u32 offset */
#define HOOP_NSSDB_H_STRINGS 88		/* u32 offset */
#define HOOP_NSSDB_H_STRINGS_SIZE 92	/* u32 */
#define HOOP_NSSDB_H_CHECKSUM 96	/* u64, hoop_nssdb_checksum */
#define HOOP_NSSDB_HEADER_SIZE 104

/* Header flags. */
#define HOOP_NSSDB_ENUMERATE 0x1u	/* getpwent lists live leases */

/* Entry fields. */
#define HOOP_NSSDB_E_NAME 0		/* u32 string */
#define HOOP_NSSDB_E_NAME_HASH 4	/* u32, hoop_nssdb_name_hash */
#define HOOP_NSSDB_E_UID 8		/* u32 (leases) */
#define HOOP_NSSDB_E_FLAGS 12		/* u32 */
#define HOOP_NSSDB_E_EXPIRES 16		/* i64 (leases) */
#define HOOP_NSSDB_E_GECOS 24		/* u32 string */
#define HOOP_NSSDB_E_FIRST_GID 28	/* u32 index into gids */
#define HOOP_NSSDB_E_N_GIDS 32		/* u32 */
#define HOOP_NSSDB_ENTRY_SIZE 36

/* Template fields. */
#define HOOP_NSSDB_T_PATTERN 0		/* u32 string: name with '*' */
#define HOOP_NSSDB_T_GECOS 4		/* u32 string */
#define HOOP_NSSDB_T_FLAGS 8		/* u32: HOOP_NSSDB_HOME only */
#define HOOP_NSSDB_TEMPLATE_SIZE 12

/* Entry and template flags. */
#define HOOP_NSSDB_LEASE 0x1u		/* a live lease (uid, expiry) */
#define HOOP_NSSDB_LOGIN 0x2u		/* an identity's fixed login */
#define HOOP_NSSDB_HOME 0x4u		/* home is HOME_BASE/name, else / */

/* Longest gecos, home base and shell a file may hold. */
#define HOOP_NSSDB_MAX_TEXT 1024

const char *hoop_nssdb_default_path(void);

/*
 * The uid a login name gets: a fixed, non-secret hash of the name into
 * [uid_min, uid_max]. nss_hoop answers with it before any login and
 * pam_hoop leases it, so a name keeps its uid across logins and across
 * hosts with the same range. Two names can share one: the store refuses
 * a second live lease of a uid (hoop_lease_acquire). Stable forever:
 * changing it would hand existing homes and files to other names.
 */
uint32_t hoop_nssdb_login_uid(const char *login, uint32_t uid_min,
    uint32_t uid_max);

/* The hashes and the checksum of the format (for writers and tests). */
uint32_t hoop_nssdb_name_hash(const char *name);
uint32_t hoop_nssdb_uid_hash(uint32_t uid);
/* Over len bytes, the checksum field counted as zero. */
uint64_t hoop_nssdb_checksum(const void *buf, size_t len);
/* 1 if name could be a login name: [a-z_][a-z0-9_-]*, 1 to 32 long. */
int hoop_nssdb_valid_name(const char *name);
/* 1 if name matches a template pattern ('*' stands for any text). */
int hoop_nssdb_pattern_match(const char *pattern, const char *name);

/*
 * Reading.
 */

typedef struct hoop_nssdb hoop_nssdb_t;

/* Checks a whole file image and returns a view of it. buf is not copied:
 * it must outlive the view. HOOP_ERR_INVAL for anything malformed. */
hoop_err_t hoop_nssdb_open_buf(const void *buf, size_t len,
    hoop_nssdb_t **out);
/* Maps path read-only (O_CLOEXEC, no symlinks) and checks it; the view
 * owns the mapping. HOOP_ERR_NOTFOUND if there is no file. st (if not
 * NULL) gets the file's status, to notice when it is replaced. */
hoop_err_t hoop_nssdb_open_file(const char *path, hoop_nssdb_t **out,
    struct stat *st);
void hoop_nssdb_free(hoop_nssdb_t *db);

/* What a lookup finds. The strings point into the file image, except
 * name for a template match (the caller's own string). */
struct hoop_nssdb_user {
	const char *name;
	uint32_t uid;			/* gid is the same */
	unsigned flags;			/* HOOP_NSSDB_LEASE|LOGIN|HOME */
	int64_t expires_at;		/* leases; 0 otherwise */
	const char *gecos;
	const char *home_base;		/* home: home_base "/" name, or "/" */
	const char *shell;
	size_t n_groups;		/* local supplementary gids */
	const unsigned char *groups;	/* read with hoop_nssdb_user_group */
};

uint32_t hoop_nssdb_user_group(const struct hoop_nssdb_user *u, size_t i);

/* A name: a live lease (expires_at > now), else a fixed login, else the
 * first matching template. HOOP_ERR_NOTFOUND otherwise. */
hoop_err_t hoop_nssdb_by_name(const hoop_nssdb_t *db, const char *name,
    int64_t now, struct hoop_nssdb_user *out);
/* A uid: live leases only (a template's uid cannot be inverted). */
hoop_err_t hoop_nssdb_by_uid(const hoop_nssdb_t *db, uint32_t uid,
    int64_t now, struct hoop_nssdb_user *out);

/* Enumeration (only if the file allows it): entry index < count; an
 * entry that is not a live lease gives HOOP_ERR_NOTFOUND. */
int hoop_nssdb_enumerable(const hoop_nssdb_t *db);
size_t hoop_nssdb_count(const hoop_nssdb_t *db);
hoop_err_t hoop_nssdb_lease_at(const hoop_nssdb_t *db, size_t index,
    int64_t now, struct hoop_nssdb_user *out);
/* Fixed logins and templates, for listing (hoopctl nss show). */
size_t hoop_nssdb_template_count(const hoop_nssdb_t *db);
const char *hoop_nssdb_template_at(const hoop_nssdb_t *db, size_t index,
    const char **gecos);
int64_t hoop_nssdb_generated_at(const hoop_nssdb_t *db);

/*
 * Regenerates the file at path (atomically: temporary file, fsync,
 * rename; mode 0644) from the configuration (the fixed logins and
 * templates of enabled identities, home base, login shell, enumeration)
 * and the store's leases that have not ended, with their local
 * supplementary groups resolved to gids here (getgrnam_r). It holds the
 * store's write lock while it reads and renames, so concurrent writers
 * cannot lose each other's leases; inside a transaction the caller began
 * (hoop_store_begin) it uses that one. Creates the file's directory
 * (0755) if missing.
 */
hoop_err_t hoop_nssdb_sync(const hoop_config_t *cfg, hoop_store_t *store,
    const char *path);

/*
 * Writing: collect fixed logins, templates and leases, then build the
 * image (names sorted, a fixed login and a lease of one name merged).
 */

typedef struct hoop_nssdb_builder hoop_nssdb_builder_t;

hoop_err_t hoop_nssdb_builder_create(uint32_t uid_min, uint32_t uid_max,
    const char *home_base, const char *shell, unsigned flags,
    hoop_nssdb_builder_t **out);
void hoop_nssdb_builder_free(hoop_nssdb_builder_t *b);
/* flags: HOOP_NSSDB_HOME or 0. */
hoop_err_t hoop_nssdb_builder_add_login(hoop_nssdb_builder_t *b,
    const char *login, const char *gecos, unsigned flags);
/* template as in hoop.conf: "sso-${preferred_username}". */
hoop_err_t hoop_nssdb_builder_add_template(hoop_nssdb_builder_t *b,
    const char *login_template, const char *gecos, unsigned flags);
/* HOOP_ERR_UID_TAKEN if another lease has the uid. */
hoop_err_t hoop_nssdb_builder_add_lease(hoop_nssdb_builder_t *b,
    const char *login, uint32_t uid, int64_t expires_at, const char *gecos,
    unsigned flags, const uint32_t *gids, size_t n_gids);
/* The file image, malloc'd: the caller frees it. */
hoop_err_t hoop_nssdb_builder_finish(hoop_nssdb_builder_t *b, int64_t now,
    void **image, size_t *len);

#endif
