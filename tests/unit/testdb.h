/* Small store helpers shared by the C unit tests. */
#ifndef HOOP_TESTDB_H
#define HOOP_TESTDB_H

#include <sqlite3.h>

#include "hoop_store.h"
#include "store_internal.h"

/* The first column of the first row of sql, or -1. */
static inline long
query_long(hoop_store_t *store, const char *sql)
{
	sqlite3_stmt *st;
	long v = -1;

	if (sqlite3_prepare_v2(hoop_store_db(store), sql, -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

#endif
