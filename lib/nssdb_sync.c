/*
 * hoop_nssdb_sync: the nss_hoop data file from the configuration and the
 * store. Kept apart from nssdb.c so that the NSS module, which links only
 * the reader, pulls in neither SQLite nor the configuration.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hoop_log.h"
#include "hoop_nssdb.h"
#include "hoop_util.h"
#include "store_internal.h"

#define MAX_LEASE_GIDS 64
#define GROUP_CACHE 64

/* Local group names resolved once per sync. */
struct group_cache {
	char		 name[33];
	uint32_t	 gid;		/* 0: does not resolve, or refused */
};

struct sync {
	const hoop_config_t	*cfg;
	struct group_cache	 groups[GROUP_CACHE];
	size_t			 n_groups;
};

/* The gid of a local group, or 0 when it is missing or must not be
 * handed out (root's group, a gid of hoop's own uid range). */
static uint32_t
resolve_group(struct sync *s, const char *name)
{
	struct group gr, *res = NULL;
	char *buf = NULL, *nbuf;
	size_t size = 4096, i;
	uint32_t gid = 0;
	int rc;

	for (i = 0; i < s->n_groups; i++) {
		if (strcmp(s->groups[i].name, name) == 0)
			return s->groups[i].gid;
	}
	for (;;) {
		if ((nbuf = realloc(buf, size)) == NULL)
			break;
		buf = nbuf;
		rc = getgrnam_r(name, &gr, buf, size, &res);
		if (rc == ERANGE && size < 1024 * 1024) {
			size *= 2;
			continue;
		}
		break;
	}
	if (res != NULL) {
		gid = (uint32_t)res->gr_gid;
		if (gid == 0 || (gid >= (uint32_t)hoop_config_uid_min(s->cfg) &&
		    gid <= (uint32_t)hoop_config_uid_max(s->cfg))) {
			hoop_log(LOG_WARNING, "nss sync: local group %s has gid "
			    "%lu (root's, or in hoop's uid range): not "
			    "granted", name, (unsigned long)gid);
			gid = 0;
		}
	} else
		hoop_log(LOG_WARNING, "nss sync: local group %s does not "
		    "exist on this host: not granted", name);
	free(buf);
	if (s->n_groups < GROUP_CACHE && strlen(name) < sizeof(s->groups[0].name)) {
		snprintf(s->groups[s->n_groups].name,
		    sizeof(s->groups[0].name), "%s", name);
		s->groups[s->n_groups++].gid = gid;
	}
	return gid;
}

static size_t
lease_gids(struct sync *s, const struct hoop_identity *id,
    const char *groups, uint32_t *gids)
{
	size_t i, j, n = 0;
	uint32_t gid;

	for (i = 0; id != NULL && i < id->n_local_groups; i++) {
		if (strcmp(id->local_groups[i].group, "*") != 0 &&
		    (groups == NULL ||
		    !hoop_list_has(groups, id->local_groups[i].group,
		    strlen(id->local_groups[i].group))))
			continue;
		if ((gid = resolve_group(s, id->local_groups[i].local)) == 0)
			continue;
		for (j = 0; j < n && gids[j] != gid; j++)
			;
		if (j == n && n < MAX_LEASE_GIDS)
			gids[n++] = gid;
	}
	return n;
}

static hoop_err_t
add_identities(hoop_nssdb_builder_t *b, const hoop_config_t *cfg)
{
	const struct hoop_identity *id;
	char gecos[96];
	hoop_err_t err;
	size_t i;

	for (i = 0; i < hoop_config_identity_count(cfg); i++) {
		id = hoop_config_identity_at(cfg, i);
		/* A disabled identity cannot log in: nothing to resolve. */
		if (id->disabled)
			continue;
		snprintf(gecos, sizeof(gecos), "hoop identity %s", id->name);
		if (id->login != NULL)
			err = hoop_nssdb_builder_add_login(b, id->login, gecos,
			    id->home ? HOOP_NSSDB_HOME : 0);
		else
			err = hoop_nssdb_builder_add_template(b,
			    id->login_template, gecos,
			    id->home ? HOOP_NSSDB_HOME : 0);
		if (err != HOOP_OK)
			return err;
	}
	return HOOP_OK;
}

static hoop_err_t
add_leases(struct sync *s, hoop_nssdb_builder_t *b, hoop_store_t *store)
{
	hoop_err_t ret = HOOP_ERR_STORE, err;
	const struct hoop_identity *id;
	const char *login, *identity, *groups;
	sqlite3_stmt *st = NULL;
	uint32_t gids[MAX_LEASE_GIDS];
	char gecos[96];
	size_t n;
	int rc;

	rc = sqlite3_prepare_v2(hoop_store_db(store), "SELECT login, uid, "
	    "identity, expires_at, groups FROM leases WHERE ended_at IS NULL "
	    "ORDER BY id", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		ret = hoop_store_err(rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		login = (const char *)sqlite3_column_text(st, 0);
		identity = (const char *)sqlite3_column_text(st, 2);
		groups = (const char *)sqlite3_column_text(st, 4);
		id = identity != NULL ? hoop_config_identity(s->cfg, identity) :
		    NULL;
		snprintf(gecos, sizeof(gecos), "hoop identity %s",
		    id != NULL ? id->name : "(removed)");
		n = lease_gids(s, id, groups, gids);
		/* An identity gone from the configuration: its lease keeps
		 * the home it may have until hoopctl gc ends it. */
		err = hoop_nssdb_builder_add_lease(b, login != NULL ? login : "",
		    (uint32_t)sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 3), gecos,
		    id == NULL || id->home ? HOOP_NSSDB_HOME : 0, gids, n);
		if (err == HOOP_ERR_INVAL) {
			/* One bad row must not stop every other lease from
			 * resolving. */
			hoop_log(LOG_ERR, "nss sync: lease of uid %lld is not "
			    "a valid user: left out",
			    (long long)sqlite3_column_int64(st, 1));
			continue;
		}
		if (err != HOOP_OK) {
			ret = err;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		ret = hoop_store_err(rc) == HOOP_OK ? HOOP_ERR_STORE :
		    hoop_store_err(rc);
		goto out;
	}
	ret = HOOP_OK;
out:
	sqlite3_finalize(st);
	return ret;
}

/* The file's directory, made if missing (the file is world-readable, so
 * is its directory). */
static hoop_err_t
make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return HOOP_ERR_TOOBIG;
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return HOOP_OK;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0 || errno == EEXIST)
		return HOOP_OK;
	return errno == EACCES || errno == EPERM ? HOOP_ERR_PERM :
	    errno == ENOENT ? HOOP_ERR_NOTFOUND : HOOP_ERR_IO;
}

hoop_err_t
hoop_nssdb_sync(const hoop_config_t *cfg, hoop_store_t *store,
    const char *path)
{
	hoop_err_t ret = HOOP_ERR_INVAL;
	hoop_nssdb_builder_t *b = NULL;
	struct sync s;
	void *image = NULL;
	size_t len = 0;
	int own = 0;

	if (cfg == NULL || store == NULL || path == NULL || path[0] != '/')
		goto out;
	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	/* The write lock, held to the rename: a lease recorded by another
	 * writer is either in this snapshot or in that writer's own
	 * (later) rename. */
	if (sqlite3_get_autocommit(hoop_store_db(store))) {
		if ((ret = hoop_store_begin(store)) != HOOP_OK)
			goto out;
		own = 1;
	}
	if ((ret = hoop_nssdb_builder_create((uint32_t)hoop_config_uid_min(cfg),
	    (uint32_t)hoop_config_uid_max(cfg), hoop_config_home_base(cfg),
	    hoop_config_login_shell(cfg), hoop_config_nss_enumerate(cfg) ?
	    HOOP_NSSDB_ENUMERATE : 0, &b)) != HOOP_OK ||
	    (ret = add_identities(b, cfg)) != HOOP_OK ||
	    (ret = add_leases(&s, b, store)) != HOOP_OK ||
	    (ret = hoop_nssdb_builder_finish(b, (int64_t)time(NULL), &image,
	    &len)) != HOOP_OK)
		goto out;
	if ((ret = make_parent(path)) != HOOP_OK ||
	    (ret = hoop_write_file_atomic(path, image, len, 0644)) != HOOP_OK)
		goto out;
	if (own && (ret = hoop_store_commit(store)) != HOOP_OK)
		goto out;
	own = 0;
	ret = HOOP_OK;
out:
	if (ret != HOOP_OK)
		hoop_log(LOG_ERR, "nss sync %s: %s", path != NULL ? path : "-",
		    hoop_strerror(ret));
	if (own)
		hoop_store_rollback(store);
	hoop_nssdb_builder_free(b);
	free(image);
	return ret;
}
