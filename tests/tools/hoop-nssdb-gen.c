/*
 * Writes nss_hoop data files for tests: the seed corpus of the fuzz
 * target (tests/fuzz/corpus/nssdb/), or one file from arguments.
 *
 *   hoop-nssdb-gen corpus DIR
 *   hoop-nssdb-gen file OUT [-e] [login NAME] [template T] \
 *       [lease NAME UID EXPIRES [GID,...]]...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hoop_nssdb.h"
#include "hoop_util.h"

#define HOME_BASE "/var/lib/hoop-home"
#define SHELL "/usr/bin/hoop-shell"

static int
write_image(hoop_nssdb_builder_t *b, const char *path, size_t cut,
    long patch_off, uint32_t patch)
{
	void *image = NULL;
	size_t len = 0;
	int rc = -1;

	if (hoop_nssdb_builder_finish(b, 1700000000, &image, &len) != HOOP_OK)
		goto out;
	if (patch_off >= 0 && (size_t)patch_off + 4 <= len) {
		memcpy((char *)image + patch_off, &patch, 4);
		if (cut == 0)
			cut = len;
	}
	if (cut > len)
		cut = len;
	rc = hoop_write_file_atomic(path, image, cut ? cut : len, 0644) ==
	    HOOP_OK ? 0 : -1;
out:
	free(image);
	return rc;
}

static hoop_nssdb_builder_t *
standard(unsigned flags, int n_bulk)
{
	static const uint32_t gids[] = { 4, 100 };
	hoop_nssdb_builder_t *b = NULL;
	char name[40];
	int i;

	if (hoop_nssdb_builder_create(60000, 60999, HOME_BASE, SHELL, flags,
	    &b) != HOOP_OK)
		return NULL;
	hoop_nssdb_builder_add_login(b, "deploy", "hoop identity ci", 0);
	hoop_nssdb_builder_add_template(b, "sso-${preferred_username}",
	    "hoop identity staff", HOOP_NSSDB_HOME);
	hoop_nssdb_builder_add_template(b, "ci-${owner}-${repo}",
	    "hoop identity ci-repos", 0);
	hoop_nssdb_builder_add_lease(b, "deploy",
	    hoop_nssdb_login_uid("deploy", 60000, 60999), 1900000000,
	    "hoop identity ci", 0, NULL, 0);
	hoop_nssdb_builder_add_lease(b, "sso-alice",
	    hoop_nssdb_login_uid("sso-alice", 60000, 60999), 1900000000,
	    "hoop identity staff", HOOP_NSSDB_HOME, gids, 2);
	hoop_nssdb_builder_add_lease(b, "sso-old",
	    hoop_nssdb_login_uid("sso-old", 60000, 60999), 1600000000,
	    "hoop identity staff", HOOP_NSSDB_HOME, NULL, 0);
	for (i = 0; i < n_bulk; i++) {
		snprintf(name, sizeof(name), "x-%d", i);
		hoop_nssdb_builder_add_lease(b, name, 70000 + (uint32_t)i,
		    1900000000, "hoop identity bulk", HOOP_NSSDB_HOME, gids,
		    (size_t)(i % 3));
	}
	return b;
}

static int
corpus(const char *dir)
{
	static const struct {
		const char *name;
		unsigned flags;
		int bulk;
		size_t cut;
		long patch_off;
		uint32_t patch;
	} seeds[] = {
		{ "valid-standard", 0, 0, 0, -1, 0 },
		{ "valid-enumerate", HOOP_NSSDB_ENUMERATE, 0, 0, -1, 0 },
		{ "valid-bulk", 0, 300, 0, -1, 0 },
		{ "trunc-header", 0, 0, 60, -1, 0 },
		{ "trunc-body", 0, 0, 300, -1, 0 },
		{ "bad-entries", 0, 0, 0, HOOP_NSSDB_H_N_ENTRIES, 0xffff },
		{ "bad-slots", 0, 0, 0, HOOP_NSSDB_H_N_SLOTS, 3 },
		{ "bad-strings", 0, 0, 0, HOOP_NSSDB_H_STRINGS, 0xfffffff0u },
		{ "bad-uid-range", 0, 0, 0, HOOP_NSSDB_H_UID_MIN, 0 },
		{ "bad-gids", 0, 0, 0, HOOP_NSSDB_H_N_GIDS, 0x7fffffff },
	};
	hoop_nssdb_builder_t *b;
	char path[4096];
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s.db", dir, seeds[i].name);
		if ((b = standard(seeds[i].flags, seeds[i].bulk)) == NULL ||
		    write_image(b, path, seeds[i].cut, seeds[i].patch_off,
		    seeds[i].patch) == -1) {
			fprintf(stderr, "cannot write %s\n", path);
			rc = 1;
		}
		hoop_nssdb_builder_free(b);
	}
	/* No identities, no leases at all. */
	snprintf(path, sizeof(path), "%s/valid-empty.db", dir);
	if (hoop_nssdb_builder_create(60000, 60999, HOME_BASE, SHELL, 0,
	    &b) != HOOP_OK || write_image(b, path, 0, -1, 0) == -1)
		rc = 1;
	hoop_nssdb_builder_free(b);
	return rc;
}

static int
one_file(int argc, char **argv)
{
	hoop_nssdb_builder_t *b = NULL;
	uint32_t gids[64];
	size_t n_gids;
	unsigned flags = 0;
	char *p, *end;
	int i = 3, rc = 1;

	if (argc > 3 && strcmp(argv[3], "-e") == 0) {
		flags = HOOP_NSSDB_ENUMERATE;
		i++;
	}
	if (hoop_nssdb_builder_create(60000, 60999, HOME_BASE, SHELL, flags,
	    &b) != HOOP_OK)
		goto out;
	while (i < argc) {
		if (strcmp(argv[i], "login") == 0 && i + 1 < argc) {
			if (hoop_nssdb_builder_add_login(b, argv[i + 1],
			    "hoop identity test", HOOP_NSSDB_HOME) != HOOP_OK)
				goto out;
			i += 2;
		} else if (strcmp(argv[i], "template") == 0 && i + 1 < argc) {
			if (hoop_nssdb_builder_add_template(b, argv[i + 1],
			    "hoop identity test", HOOP_NSSDB_HOME) != HOOP_OK)
				goto out;
			i += 2;
		} else if (strcmp(argv[i], "lease") == 0 && i + 4 <= argc) {
			n_gids = 0;
			for (p = argv[i + 4]; i + 4 < argc && *p != '\0' &&
			    n_gids < 64; p = *end ? end + 1 : end)
				gids[n_gids++] = (uint32_t)strtoul(p, &end, 10);
			if (hoop_nssdb_builder_add_lease(b, argv[i + 1],
			    (uint32_t)strtoul(argv[i + 2], NULL, 10),
			    strtoll(argv[i + 3], NULL, 10), "hoop identity test",
			    HOOP_NSSDB_HOME, gids, n_gids) != HOOP_OK)
				goto out;
			i += 5;
		} else
			goto out;
	}
	rc = write_image(b, argv[2], 0, -1, 0) == 0 ? 0 : 1;
out:
	hoop_nssdb_builder_free(b);
	if (rc != 0)
		fprintf(stderr, "usage: hoop-nssdb-gen corpus DIR | file OUT "
		    "[-e] [login NAME] [template T] [lease NAME UID EXPIRES "
		    "GIDS]...\n");
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "corpus") == 0)
		return corpus(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "file") == 0)
		return one_file(argc, argv);
	fprintf(stderr, "usage: hoop-nssdb-gen corpus DIR | file OUT ...\n");
	return 2;
}
