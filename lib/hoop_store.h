/* The SQLite state store: leases, sessions, audit events, approvals, key
 * caches. One connection per process; WAL so readers never block writers. */
#ifndef HOOP_STORE_H
#define HOOP_STORE_H

#include "hoop_err.h"

typedef struct hoop_store hoop_store_t;

/* Schema version this program reads and writes. */
#define HOOP_STORE_SCHEMA_VERSION 4

enum hoop_store_flags {
	HOOP_STORE_CREATE = 1 << 0,	/* create the file if missing */
	HOOP_STORE_MIGRATE = 1 << 1,	/* accept an older schema (to migrate it) */
	HOOP_STORE_READONLY = 1 << 2,
};

/* Opens the store. Refuses (HOOP_ERR_STORE_TOO_NEW) a schema newer than
 * this program and (HOOP_ERR_STORE_OLD) an older one unless
 * HOOP_STORE_MIGRATE is given. */
hoop_err_t hoop_store_open(const char *path, unsigned flags,
    hoop_store_t **out);
void hoop_store_close(hoop_store_t *store);

hoop_err_t hoop_store_schema_version(hoop_store_t *store, int *version);
/* Applies the forward migrations up to HOOP_STORE_SCHEMA_VERSION in one
 * transaction: a failed step leaves the store as it was. */
hoop_err_t hoop_store_migrate(hoop_store_t *store, int *from, int *to);

/* The last SQLite error message, for logs. */
const char *hoop_store_errmsg(hoop_store_t *store);

#endif
