/* Checks the PostgreSQL message fuzz targets share. */
#ifndef FUZZ_PG_H
#define FUZZ_PG_H

#include <stdlib.h>
#include <string.h>

#include "hoop_pgproto.h"

/* n bytes at p lie inside m's body. */
static void
inside(const struct hoop_pg_msg *m, const void *p, size_t n)
{
	const unsigned char *c = p;

	if (p == NULL || c < m->body || n > m->len ||
	    (size_t)(c - m->body) > m->len - n)
		abort();
}

static void
inside_str(const struct hoop_pg_msg *m, const char *s)
{
	inside(m, s, strlen(s) + 1);
}

/* The built message must be the one parsed. */
static void
same(const struct hoop_pg_msg *m, struct hoop_pg_buf *b, hoop_err_t err)
{
	if (err != HOOP_OK || b->len != m->size || b->data[0] != m->type ||
	    memcmp(b->data + 5, m->body, m->len) != 0)
		abort();
	b->len = 0;
}

#endif
