/*
 * The nss_hoop data file reader on arbitrary input. Each input is tried
 * as it is (the checksum turns almost everything away) and with its
 * checksum made right, so that the fuzzer reaches the offsets, counts,
 * strings and indexes behind it. Whatever a file says, an answer must be
 * one nss_hoop can hand out: a login name, a uid of at least 1000, text
 * without ':' or control characters, gids other than 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_nssdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"deploy", "sso-alice", "sso-", "x-1", "a", "_", "ci-a-b",
	"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "root", "",
};
static const uint32_t uids[] = {
	0, 1, 999, 1000, 60000, 60498, 60651, 65534, 70000, 2147483647u,
	4294967295u,
};

static void
check_text(const char *s, int path)
{
	size_t i;

	if (s == NULL || (path && s[0] != '/'))
		abort();
	for (i = 0; s[i] != '\0'; i++) {
		if (i > HOOP_NSSDB_MAX_TEXT || (unsigned char)s[i] < 0x20 ||
		    s[i] == ':' || s[i] == 0x7f)
			abort();
	}
}

static void
check_user(const struct hoop_nssdb_user *u)
{
	size_t i;

	if (u->name == NULL || !hoop_nssdb_valid_name(u->name) ||
	    u->uid < HOOP_NSSDB_UID_FLOOR || u->uid == 65534 ||
	    u->uid == 65535)
		abort();
	check_text(u->gecos, 0);
	check_text(u->home_base, 1);
	check_text(u->shell, 1);
	for (i = 0; i < u->n_groups; i++) {
		if (hoop_nssdb_user_group(u, i) == 0)
			abort();
	}
}

static void
exercise(const uint8_t *buf, size_t size)
{
	struct hoop_nssdb_user u;
	hoop_nssdb_t *db = NULL;
	const char *p, *g;
	size_t i, n;

	if (hoop_nssdb_open_buf(buf, size, &db) != HOOP_OK) {
		if (db != NULL)
			abort();
		return;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (hoop_nssdb_by_name(db, names[i], 0, &u) == HOOP_OK) {
			check_user(&u);
			if (strcmp(u.name, names[i]) != 0)
				abort();
		}
		if (hoop_nssdb_by_name(db, names[i], INT64_MAX, &u) == HOOP_OK)
			check_user(&u);
	}
	for (i = 0; i < sizeof(uids) / sizeof(uids[0]); i++) {
		if (hoop_nssdb_by_uid(db, uids[i], 0, &u) == HOOP_OK) {
			check_user(&u);
			if (u.uid != uids[i] || !(u.flags & HOOP_NSSDB_LEASE))
				abort();
		}
	}
	n = hoop_nssdb_count(db);
	for (i = 0; i < n && i < 4096; i++) {
		if (hoop_nssdb_lease_at(db, i, INT64_MIN, &u) != HOOP_OK)
			continue;
		check_user(&u);
		/* What enumeration shows, lookups find. */
		if (hoop_nssdb_by_uid(db, u.uid, INT64_MIN, &u) == HOOP_OK)
			check_user(&u);
		if (hoop_nssdb_by_name(db, u.name, INT64_MIN, &u) == HOOP_OK)
			check_user(&u);
	}
	for (i = 0; i < hoop_nssdb_template_count(db) && i < 4096; i++) {
		if ((p = hoop_nssdb_template_at(db, i, &g)) == NULL)
			abort();
		check_text(g, 0);
		(void)hoop_nssdb_pattern_match(p, "sso-alice");
	}
	(void)hoop_nssdb_enumerable(db);
	hoop_nssdb_free(db);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	uint64_t sum;
	int i;

	/* Exactly size bytes: a read past the end is caught. */
	if ((copy = calloc(1, size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	exercise(copy, size);
	if (size >= HOOP_NSSDB_HEADER_SIZE) {
		sum = hoop_nssdb_checksum(copy, size);
		for (i = 0; i < 8; i++)
			copy[HOOP_NSSDB_H_CHECKSUM + i] = (uint8_t)(sum >> (8 * i));
		exercise(copy, size);
	}
	free(copy);
	return 0;
}
