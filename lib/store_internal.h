/* For lib/ modules that run their own statements against the store. */
#ifndef HOOP_STORE_INTERNAL_H
#define HOOP_STORE_INTERNAL_H

#include <sqlite3.h>

#include "hoop_store.h"

sqlite3 *hoop_store_db(hoop_store_t *store);
/* BEGIN IMMEDIATE: takes the write lock up front, so two writers never
 * deadlock upgrading read locks; waits up to the busy timeout. */
hoop_err_t hoop_store_begin(hoop_store_t *store);
hoop_err_t hoop_store_commit(hoop_store_t *store);
void hoop_store_rollback(hoop_store_t *store);
/* Maps an SQLite result code to our error space. */
hoop_err_t hoop_store_err(int rc);

#endif
