/*
 * The session's masks (lib/mask.c) and the resolver they need: table oids
 * and attribute numbers to schema, table and column names.
 *
 * The lookups cannot use the session's own connection (it may be busy
 * streaming the very result they are for), so they run on a second
 * connection to the target with the same credentials, opened on the
 * first lookup. A view column's names are the column itself and every
 * base column the view reads, through views of views, that some mask
 * names: the catalog does not say which view column shows which base
 * column, so a view column may be masked more than it needs, never less.
 * Anything that goes wrong fails the lookup, and the engine refuses the
 * result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_log.h"
#include "hoop_util.h"
#include "pgwrap.h"

#define LOOKUP_TIMEOUT_MS	10000
#define LOOKUP_VALUE_MAX	(3 + 20 + 2 + 10 + 18 + 6 + 18)

struct lookup {
	hoop_mask_set_t *set;
	struct hoop_mask_column *cols;
	size_t n;
	struct hoop_pg_data_row row;
	int too_many;
};

/* One value of a lookup row as a NUL-terminated identifier. */
static int
copy_ident(char *dst, const struct hoop_pg_value *v)
{
	if (v->len < 0 || v->len >= HOOP_MASK_IDENT_MAX ||
	    memchr(v->data, '\0', (size_t)v->len) != NULL)
		return -1;
	memcpy(dst, v->data, (size_t)v->len);
	dst[v->len] = '\0';
	return 0;
}

/* A row: index, kind ('c' the column itself, 'b' a base column of a
 * view), schema, table, column. */
static int
on_row(void *arg, const struct hoop_pg_msg *m)
{
	struct lookup *l = arg;
	struct hoop_mask_column *c;
	struct hoop_mask_name name, *dst;
	const struct hoop_pg_value *v;
	char num[16], w[128];
	unsigned long i;
	char *end;
	size_t k;

	if (hoop_pg_parse_data_row(m, &l->row, w, sizeof(w)) != HOOP_OK ||
	    l->row.ncols != 5)
		return -1;
	v = l->row.values;
	if (v[0].len <= 0 || v[0].len >= (int32_t)sizeof(num) ||
	    v[1].len != 1)
		return -1;
	memcpy(num, v[0].data, (size_t)v[0].len);
	num[v[0].len] = '\0';
	i = strtoul(num, &end, 10);
	if (*end != '\0' || i >= l->n)
		return -1;
	c = &l->cols[i];
	memset(&name, 0, sizeof(name));
	if (copy_ident(name.schema, &v[2]) == -1 ||
	    copy_ident(name.table, &v[3]) == -1 ||
	    copy_ident(name.column, &v[4]) == -1)
		return -1;
	if (v[1].data[0] == 'c') {
		if (c->found)
			return -1;
		/* The column itself goes first. */
		if (c->n_names == HOOP_MASK_NAMES_MAX) {
			l->too_many = 1;
			return 0;
		}
		memmove(&c->names[1], &c->names[0], c->n_names *
		    sizeof(c->names[0]));
		c->names[0] = name;
		c->n_names++;
		c->found = 1;
		return 0;
	}
	if (v[1].data[0] != 'b')
		return -1;
	/* A base column the view reads: kept if a mask names it. */
	if (!hoop_mask_set_names_column(l->set, &name))
		return 0;
	for (k = 0; k < c->n_names; k++) {
		dst = &c->names[k];
		if (strcmp(dst->schema, name.schema) == 0 &&
		    strcmp(dst->table, name.table) == 0 &&
		    strcmp(dst->column, name.column) == 0)
			return 0;
	}
	if (c->n_names == HOOP_MASK_NAMES_MAX) {
		l->too_many = 1;
		return 0;
	}
	c->names[c->n_names++] = name;
	return 0;
}

/* The catalog query for n columns: one row for each column itself, and
 * one for each base column of the views among them. */
static char *
lookup_sql(const struct hoop_mask_column *cols, size_t n)
{
	static const char head[] =
	    "WITH RECURSIVE q(i, rel, att) AS (VALUES ";
	static const char tail[] = "), "
	    "dep(i, rel, att, depth) AS ("
	    " SELECT q.i, d.refobjid, d.refobjsubid, 1 FROM q"
	    " JOIN pg_catalog.pg_rewrite r ON r.ev_class = q.rel"
	    " AND r.rulename = '_RETURN'"
	    " JOIN pg_catalog.pg_depend d ON d.classid ="
	    " 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid"
	    " AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
	    " AND d.refobjsubid > 0 AND d.refobjid <> q.rel"
	    " UNION"
	    " SELECT dep.i, d.refobjid, d.refobjsubid, dep.depth + 1 FROM dep"
	    " JOIN pg_catalog.pg_rewrite r ON r.ev_class = dep.rel"
	    " AND r.rulename = '_RETURN'"
	    " JOIN pg_catalog.pg_depend d ON d.classid ="
	    " 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid"
	    " AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
	    " AND d.refobjsubid > 0 AND d.refobjid <> dep.rel"
	    /* Views of views, this deep. */
	    " WHERE dep.depth < 8)"
	    " SELECT q.i, 'c', n.nspname, c.relname,"
	    " CASE WHEN q.att = 0 THEN '' ELSE a.attname END"
	    " FROM q JOIN pg_catalog.pg_class c ON c.oid = q.rel"
	    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	    " LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = q.rel"
	    " AND a.attnum = q.att"
	    " WHERE q.att = 0 OR a.attname IS NOT NULL"
	    " UNION ALL"
	    " SELECT DISTINCT dep.i, 'b', n.nspname, c.relname, a.attname"
	    " FROM dep JOIN pg_catalog.pg_class c ON c.oid = dep.rel"
	    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	    " JOIN pg_catalog.pg_attribute a ON a.attrelid = dep.rel"
	    " AND a.attnum = dep.att";
	char *sql;
	/* Each value at most: ", (" index ", " oid "::pg_catalog.oid, "
	 * attnum "::pg_catalog.int2)". */
	size_t cap = sizeof(head) + sizeof(tail) + n * LOOKUP_VALUE_MAX, off, i;

	if ((sql = malloc(cap)) == NULL)
		return NULL;
	off = (size_t)snprintf(sql, cap, "%s", head);
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(sql + off, cap - off,
		    "%s(%zu, %u::pg_catalog.oid, %d::pg_catalog.int2)",
		    i ? ", " : "", i, cols[i].table_oid, (int)cols[i].attnum);
	snprintf(sql + off, cap - off, "%s", tail);
	return sql;
}

static int
lookup_open(struct pgwrap *pw, char *why, size_t whylen)
{
	struct upstream_params up = { 0 };
	char sqlstate[6];

	if (pw->lookup_open)
		return 0;
	up.application_name = "hoop-pgwrap catalog lookups";
	up.client_encoding = "UTF8";
	if (upstream_open(pw->target, pw->secret, &up, LOOKUP_TIMEOUT_MS,
	    &pw->lookup, sqlstate, why, whylen) != HOOP_OK) {
		pw->lookup.fd = -1;
		return -1;
	}
	pw->lookup_open = 1;
	return 0;
}

static void
lookup_close(struct pgwrap *pw)
{
	struct hoop_pg_buf t = { 0 };

	if (!pw->lookup_open)
		return;
	if (hoop_pg_put_empty(&t, HOOP_PG_F_TERMINATE) == HOOP_OK)
		(void)upstream_write(&pw->lookup, t.data, t.len);
	hoop_pg_buf_free(&t);
	upstream_close(&pw->lookup);
	pw->lookup_open = 0;
}

static hoop_err_t
resolve(void *arg, struct hoop_mask_column *cols, size_t n, char *why,
    size_t whylen)
{
	struct pgwrap *pw = arg;
	struct lookup l = { 0 };
	char *sql = NULL;
	size_t i, k;
	hoop_err_t ret = HOOP_ERR_IO;
	int attempt;

	for (i = 0; i < n; i++) {
		cols[i].found = cols[i].computed = 0;
		cols[i].n_names = 0;
	}
	if ((sql = lookup_sql(cols, n)) == NULL) {
		hoop_why(why, whylen, "out of memory");
		ret = HOOP_ERR_NOMEM;
		goto out;
	}
	l.set = pw->mask;
	l.cols = cols;
	l.n = n;
	/* A connection kept from an earlier lookup may have been closed by
	 * the server since (idle timeouts): one more try on a new one. */
	for (attempt = pw->lookup_open ? 2 : 1; attempt > 0; attempt--) {
		if (lookup_open(pw, why, whylen) == -1) {
			ret = HOOP_ERR_IO;
			goto out;
		}
		ret = upstream_query(&pw->lookup, sql, LOOKUP_TIMEOUT_MS,
		    on_row, &l, why, whylen);
		if (ret == HOOP_OK)
			break;
		/* Its state is unknown now: the next lookup starts anew. */
		lookup_close(pw);
		if (ret != HOOP_ERR_IO)
			goto out;
		for (i = 0; i < n; i++) {
			cols[i].found = 0;
			cols[i].n_names = 0;
		}
		l.too_many = 0;
	}
	if (ret != HOOP_OK)
		goto out;
	if (l.too_many) {
		hoop_why(why, whylen, "a view reads more masked columns than "
		    "hoop can follow");
		ret = HOOP_ERR_TOOBIG;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!cols[i].found) {
			hoop_why(why, whylen, "table %u attribute %d is not in "
			    "the catalog", cols[i].table_oid,
			    (int)cols[i].attnum);
			ret = HOOP_ERR_NOTFOUND;
			goto out;
		}
		/* A view column is taken for the base column of its name if
		 * the view reads one; else it may be an expression. */
		if (cols[i].n_names > 1) {
			cols[i].computed = 1;
			for (k = 1; k < cols[i].n_names; k++)
				if (strcmp(cols[i].names[k].column,
				    cols[i].names[0].column) == 0)
					cols[i].computed = 0;
		}
	}
	ret = HOOP_OK;
out:
	hoop_pg_data_row_release(&l.row);
	free(sql);
	return ret;
}

int
pgwrap_mask_start(struct pgwrap *pw, char *why, size_t whylen)
{
	struct hoop_mask_options opt = { 0 };
	hoop_mask_set_t *s = NULL;

	pw->lookup.fd = -1;
	opt.resolve = resolve;
	opt.resolve_arg = pw;
	if (hoop_mask_set_create(pw->cfg, &pw->who, pw->target->name, &opt, &s,
	    why, whylen) != HOOP_OK)
		return -1;
	if (!hoop_mask_set_active(s)) {
		hoop_mask_set_free(s);
		return 0;
	}
	pw->mask = s;
	return 0;
}

void
pgwrap_mask_end(struct pgwrap *pw)
{
	lookup_close(pw);
	hoop_mask_set_free(pw->mask);
	pw->mask = NULL;
}
