/* Masking: plans from RowDescriptions (aliases, views, whole rows,
 * computed columns, lookups that fail), strategies, built-in patterns,
 * DataRow rebuilding in both formats, COPY text and csv streams cut
 * anywhere. */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hoop_config.h"
#include "hoop_mask.h"
#include "hoop_sql.h"
#include "hoop_policy.h"
#include "hoop_util.h"
#include "tap.h"

#define PAT_POLICY(name, body)						\
	"policy \"" name "\" { identities = {\"dev\"} targets = {\"" name \
	"\"}\n  mask \"m\" { " body " }\n}\n"

static const char conf[] =
    "issuer \"i\" { url = \"https://issuer.example\" audience = {\"hoop\"} }\n"
    "identity \"dev\" { issuer = \"i\" claim \"sub\" { equals = {\"d\"} } "
    "login = \"dev\" }\n"
    "identity \"ops\" { issuer = \"i\" claim \"sub\" { equals = {\"o\"} } "
    "login = \"ops\" }\n"
    "identity \"nobody\" { issuer = \"i\" claim \"sub\" { equals = {\"n\"} "
    "} login = \"nobody\" }\n"
    "target \"db\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "target \"email\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "target \"card\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "target \"token\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "target \"pem\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "target \"aws\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "target \"digits\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "target \"evil\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "target \"utf\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "target \"hashcard\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "target \"partcard\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "policy \"main\" {\n"
    "  identities = {\"dev\", \"ops\"}\n"
    "  targets = {\"db\"}\n"
    "  mask \"mail\" { columns = {\"public.users.email\"} "
    "strategy = \"hash\" }\n"
    "  mask \"card\" { columns = {\"users.card\"} strategy = \"partial\" }\n"
    "  mask \"name\" { columns = {\"users.name\", \"users.card\"} }\n"
    "  mask \"notes\" { columns = {\"users.notes\"} pattern = "
    "\"builtin:card\" strategy = \"partial\" }\n"
    "  mask \"mails\" { pattern = \"builtin:email\" }\n"
    "}\n"
    "policy \"strict\" {\n"
    "  identities = {\"ops\"}\n"
    "  targets = {\"db\"}\n"
    "  mask_computed = \"refuse\"\n"
    "}\n"
    PAT_POLICY("email", "pattern = \"builtin:email\"")
    PAT_POLICY("card", "pattern = \"builtin:card\"")
    PAT_POLICY("token", "pattern = \"builtin:token\"")
    PAT_POLICY("pem", "pattern = \"builtin:private_key\"")
    PAT_POLICY("aws", "pattern = \"builtin:aws_key\"")
    PAT_POLICY("digits", "pattern = '\\d{6}'")
    PAT_POLICY("evil", "pattern = '(a+)+$'")
    PAT_POLICY("utf", "pattern = '\\w+é' strategy = \"partial\" keep = 2")
    PAT_POLICY("hashcard", "pattern = \"builtin:card\" strategy = \"hash\"")
    PAT_POLICY("partcard", "pattern = \"builtin:card\" "
    "strategy = \"partial\"");

static hoop_config_t *cfg;
static const unsigned char key1[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char key2[32] = "fedcba9876543210fedcba9876543210";

/* ---- A catalog for the resolver ---- */

struct entry {
	uint32_t oid;
	int16_t attnum;
	const char *schema, *table, *column;
	const char *bschema, *btable, *bcolumn;	/* a view's base column */
	int computed;
};

enum {
	USERS = 16400, OTHER = 16500, VIEW = 16600, SHOUT = 16700,
	BROKEN = 16800, MISSING = 16900,
};

static const struct entry catalog[] = {
	{ USERS, 0, "public", "users", "", NULL, NULL, NULL, 0 },
	{ USERS, 1, "public", "users", "id", NULL, NULL, NULL, 0 },
	{ USERS, 2, "public", "users", "email", NULL, NULL, NULL, 0 },
	{ USERS, 3, "public", "users", "card", NULL, NULL, NULL, 0 },
	{ USERS, 4, "public", "users", "notes", NULL, NULL, NULL, 0 },
	{ USERS, 5, "public", "users", "name", NULL, NULL, NULL, 0 },
	{ USERS, -1, "public", "users", "ctid", NULL, NULL, NULL, 0 },
	{ OTHER, 1, "archive", "users", "email", NULL, NULL, NULL, 0 },
	{ OTHER, 2, "archive", "users", "card", NULL, NULL, NULL, 0 },
	{ VIEW, 1, "public", "people", "mail", "public", "users", "email", 0 },
	{ VIEW, 2, "public", "people", "shout", NULL, NULL, NULL, 1 },
	{ SHOUT, 1, "PUBLIC", "Users", "EMAIL", NULL, NULL, NULL, 0 },
};

struct resolver {
	int calls;
	size_t asked;
	int fail;
};

static void
copy_name(char *dst, const char *src)
{
	snprintf(dst, HOOP_MASK_IDENT_MAX, "%s", src);
}

static hoop_err_t
resolve(void *arg, struct hoop_mask_column *cols, size_t n, char *why,
    size_t whylen)
{
	struct resolver *r = arg;
	struct hoop_mask_name *nm;
	size_t i, j;

	r->calls++;
	r->asked += n;
	if (r->fail) {
		hoop_why(why, whylen, "side connection down");
		return HOOP_ERR_IO;
	}
	for (i = 0; i < n; i++) {
		if (cols[i].table_oid == BROKEN) {
			/* A name without its NUL. */
			cols[i].found = 1;
			cols[i].n_names = 1;
			memset(cols[i].names[0].table, 'x',
			    sizeof(cols[i].names[0].table));
			continue;
		}
		for (j = 0; j < sizeof(catalog) / sizeof(catalog[0]); j++) {
			if (catalog[j].oid != cols[i].table_oid ||
			    catalog[j].attnum != cols[i].attnum)
				continue;
			cols[i].found = 1;
			cols[i].computed = catalog[j].computed;
			nm = &cols[i].names[cols[i].n_names++];
			copy_name(nm->schema, catalog[j].schema);
			copy_name(nm->table, catalog[j].table);
			copy_name(nm->column, catalog[j].column);
			if (catalog[j].btable == NULL)
				break;
			nm = &cols[i].names[cols[i].n_names++];
			copy_name(nm->schema, catalog[j].bschema);
			copy_name(nm->table, catalog[j].btable);
			copy_name(nm->column, catalog[j].bcolumn);
			break;
		}
	}
	return HOOP_OK;
}

/* ---- Helpers ---- */

static void
principal(struct hoop_principal *p, const char *identity)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->login, sizeof(p->login), "%s", identity);
	p->identity = hoop_config_identity(cfg, identity);
}

static hoop_mask_set_t *
make_set(const char *identity, const char *target, struct resolver *r,
    const unsigned char *key)
{
	struct hoop_mask_options opt = { 0 };
	struct hoop_principal p;
	hoop_mask_set_t *s = NULL;
	char why[256] = "";
	hoop_err_t err;

	principal(&p, identity);
	opt.resolve = resolve;
	opt.resolve_arg = r;
	opt.key = key != NULL ? key : key1;
	opt.key_len = 32;
	err = hoop_mask_set_create(cfg, &p, target, &opt, &s, why,
	    sizeof(why));
	if (err != HOOP_OK)
		printf("# set for %s on %s: %s (%s)\n", identity, target,
		    hoop_strerror(err), why);
	return s;
}

static struct hoop_pg_field
field(const char *name, uint32_t oid, int16_t attnum, uint32_t type,
    int16_t format)
{
	struct hoop_pg_field f = { .name = name, .table_oid = oid,
	    .attnum = attnum, .type_oid = type, .typlen = -1, .typmod = -1,
	    .format = format };

	return f;
}

/* One text value of a one-column plan, as a NUL-terminated string. */
static const char *
mask1(hoop_mask_plan_t *pl, const char *v)
{
	static char buf[1 << 16];
	const unsigned char *res;
	size_t len;
	int changed;

	if (hoop_mask_plan_value(pl, 0, v, strlen(v), &res, &len, &changed) !=
	    HOOP_OK)
		return "(error)";
	snprintf(buf, sizeof(buf), "%.*s", (int)len, (const char *)res);
	return buf;
}

/* A plan for one computed column on a pattern-only target. */
static hoop_mask_plan_t *
computed_plan(hoop_mask_set_t *s)
{
	struct hoop_pg_field f = field("x", 0, 0, 25, 0);
	hoop_mask_plan_t *pl = NULL;
	char why[256];

	if (s == NULL || hoop_mask_plan_create(s, &f, 1, NULL, -1, &pl, why,
	    sizeof(why)) != HOOP_OK)
		return NULL;
	return pl;
}

static int
is_hash(const char *v)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++) {
		if (!((v[i] >= '0' && v[i] <= '9') ||
		    (v[i] >= 'a' && v[i] <= 'f')))
			return 0;
	}
	return i == HOOP_MASK_HASH_LEN;
}

/* Builds a DataRow of n values (NULL: SQL NULL) and frames it. */
static void
make_row(struct hoop_pg_buf *b, const char *const *v, const int32_t *lens,
    size_t n, struct hoop_pg_msg *m)
{
	struct hoop_pg_value vals[16];
	size_t i, need;
	char why[128];

	for (i = 0; i < n; i++) {
		vals[i].data = (const unsigned char *)v[i];
		vals[i].len = v[i] == NULL ? -1 : lens != NULL && lens[i] >= 0 ?
		    lens[i] : (int32_t)strlen(v[i]);
	}
	b->len = 0;
	if (hoop_pg_put_data_row(b, vals, n) != HOOP_OK ||
	    hoop_pg_frame(b->data, b->len, 0, m, &need, why, sizeof(why)) !=
	    HOOP_PG_FRAME_OK)
		abort();
}

static int
parse_row(struct hoop_pg_buf *out, struct hoop_pg_data_row *row)
{
	struct hoop_pg_msg m;
	size_t need;
	char why[128];

	return hoop_pg_frame(out->data, out->len, 0, &m, &need, why,
	    sizeof(why)) == HOOP_PG_FRAME_OK && m.size == out->len &&
	    hoop_pg_parse_data_row(&m, row, why, sizeof(why)) == HOOP_OK;
}

static int
value_is(const struct hoop_pg_data_row *row, size_t i, const char *want)
{
	if (want == NULL)
		return row->values[i].len == -1;
	return row->values[i].len == (int32_t)strlen(want) &&
	    memcmp(row->values[i].data, want, strlen(want)) == 0;
}

/* ---- Tests ---- */

static void
test_builtin_names(void)
{
	ok(hoop_mask_builtin_known("card") && hoop_mask_builtin_known("email")
	    && hoop_mask_builtin_known("token") &&
	    hoop_mask_builtin_known("private_key") &&
	    hoop_mask_builtin_known("aws_key"), "built-in names known");
	ok(!hoop_mask_builtin_known("Card") && !hoop_mask_builtin_known("") &&
	    !hoop_mask_builtin_known(NULL), "other names unknown");
	ok(strstr(hoop_mask_builtin_list(), "private_key") != NULL,
	    "list for messages");
}

static void
test_inactive(void)
{
	struct resolver r = { 0 };
	struct hoop_pg_field f[2] = { field("id", USERS, 1, 23, 0),
	    field("email", USERS, 2, 25, 0) };
	const char *v[2] = { "1", "a@b.example" };
	struct hoop_pg_buf in = { 0 }, out = { 0 };
	hoop_mask_plan_t *pl = NULL;
	hoop_mask_set_t *s;
	struct hoop_pg_msg m;
	char why[256];

	s = make_set("nobody", "db", &r, NULL);
	ok(s != NULL && !hoop_mask_set_active(s), "no policy: set inactive");
	ok(s != NULL && hoop_mask_plan_create(s, f, 2, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK && hoop_mask_plan_passes(pl),
	    "inactive set: plan passes");
	make_row(&in, v, NULL, 2, &m);
	ok(pl != NULL && hoop_mask_data_row(pl, &m, &out, why, sizeof(why)) ==
	    HOOP_OK && out.len == in.len && memcmp(out.data, in.data,
	    in.len) == 0, "row copied as it is");
	is_int(r.calls, 0, "no lookups");
	hoop_mask_plan_free(pl);
	hoop_mask_set_free(s);
	s = make_set("dev", "nowhere", &r, NULL);
	ok(s != NULL && !hoop_mask_set_active(s), "other target: inactive");
	hoop_mask_set_free(s);
	hoop_pg_buf_free(&in);
	hoop_pg_buf_free(&out);
}

static void
test_plans(void)
{
	struct resolver r = { 0 };
	struct hoop_pg_field star[6] = {
		field("id", USERS, 1, 23, 0), field("email", USERS, 2, 25, 0),
		field("card", USERS, 3, 25, 0), field("notes", USERS, 4, 25, 0),
		field("name", USERS, 5, 25, 0), field("ctid", USERS, -1, 27, 0),
	};
	const char *v[6] = { "7", "ann@example.com", "4111111111111111",
	    "paid with 4111 1111 1111 1111, mail ann@example.com", "Ann",
	    "(0,1)" };
	struct hoop_pg_field alias = field("e", USERS, 2, 25, 0);
	struct hoop_pg_field other[2] = { field("email", OTHER, 1, 25, 0),
	    field("card", OTHER, 2, 25, 0) };
	struct hoop_pg_field view[2] = { field("mail", VIEW, 1, 25, 0),
	    field("shout", VIEW, 2, 25, 0) };
	struct hoop_pg_field whole = field("u", USERS, 0, 16401, 0);
	struct hoop_pg_field shout = field("EMAIL", SHOUT, 1, 25, 0);
	struct hoop_pg_buf in = { 0 }, out = { 0 };
	struct hoop_pg_data_row row = { 0 };
	hoop_mask_plan_t *pl = NULL, *pl2 = NULL;
	char why[256], hash[64];
	struct hoop_pg_msg m;
	hoop_mask_set_t *s;
	const char *res;

	s = make_set("dev", "db", &r, NULL);
	ok(s != NULL && hoop_mask_set_active(s), "dev on db: active");
	if (s == NULL)
		return;

	/* SELECT *: one lookup for the whole description. */
	ok(hoop_mask_plan_create(s, star, 6, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK, "SELECT * plan");
	is_int(r.calls, 1, "one resolver call per description");
	is_int(r.asked, 6, "every column asked once");
	is_int(hoop_mask_plan_masked(pl), 6,
	    "all six masked (email pattern on every column)");
	make_row(&in, v, NULL, 6, &m);
	ok(hoop_mask_data_row(pl, &m, &out, why, sizeof(why)) == HOOP_OK &&
	    parse_row(&out, &row) && row.ncols == 6, "row rebuilt");
	ok(value_is(&row, 0, "7"), "id passes");
	snprintf(hash, sizeof(hash), "%.*s", row.values[1].len,
	    (const char *)row.values[1].data);
	ok(is_hash(hash), "email hashed (%s)", hash);
	ok(value_is(&row, 2, "***"), "card: redact wins over partial");
	ok(value_is(&row, 3, "paid with ***************1111, mail ***"),
	    "notes: its card pattern and the global email pattern");
	ok(value_is(&row, 4, "***"), "name redacted");
	ok(value_is(&row, 5, "(0,1)"), "system column passes");
	hoop_mask_plan_free(pl);
	pl = NULL;

	/* An alias changes the name, not the table and column. */
	ok(hoop_mask_plan_create(s, &alias, 1, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK, "alias plan");
	is_int(r.calls, 1, "answer cached: no second lookup");
	res = mask1(pl, "ann@example.com");
	ok(strcmp(res, hash) == 0, "alias hashed like the column");
	hoop_mask_plan_free(pl);
	pl = NULL;

	/* A 3-part mask holds to its schema; a 2-part one does not. */
	ok(hoop_mask_plan_create(s, other, 2, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK, "other schema plan");
	ok(strcmp(mask1(pl, "ann@example.com"), "***") == 0,
	    "archive.users.email: not public's hash, the email pattern");
	ok(strcmp(mask1(pl, "bob"), "bob") == 0, "and nothing else");
	hoop_mask_plan_free(pl);
	pl = NULL;

	/* Views: the resolver gives the base column. */
	ok(hoop_mask_plan_create(s, view, 2, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK, "view plan");
	ok(strcmp(mask1(pl, "ann@example.com"), hash) == 0,
	    "view column masked as its base column");
	hoop_mask_plan_free(pl);
	pl = NULL;

	/* A whole-row reference holds every column of the table. */
	ok(hoop_mask_plan_create(s, &whole, 1, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK, "whole-row plan");
	ok(strcmp(mask1(pl, "(7,ann@example.com,4111111111111111,x,Ann)"),
	    "***") == 0, "whole row masked by the strongest mask");
	hoop_mask_plan_free(pl);
	pl = NULL;

	/* Catalog names in any case. */
	ok(hoop_mask_plan_create(s, &shout, 1, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK && strcmp(mask1(pl, "ann@example.com"),
	    hash) == 0, "names compared without regard to case");
	hoop_mask_plan_free(pl);
	pl = NULL;

	/* Computed columns under "patterns": every pattern applies. */
	pl = computed_plan(s);
	ok(pl != NULL && strcmp(mask1(pl, "x 4111-1111-1111-1111 ann@ex.org"),
	    "x ***************1111 ***") == 0,
	    "computed: column-scoped and global patterns");
	ok(pl != NULL && strcmp(mask1(pl, "hello"), "hello") == 0,
	    "computed: other values pass");
	hoop_mask_plan_free(pl);
	pl = NULL;

	/* Server text quoting values: every pattern. */
	{
		static const char detail[] = "Key (email)=(ann@example.com) "
		    "already exists.";
		const unsigned char *t;
		size_t tlen;
		int changed;

		ok(hoop_mask_set_text(s, detail, strlen(detail), &t, &tlen,
		    &changed) == HOOP_OK && changed &&
		    tlen == strlen("Key (email)=(***) already exists.") &&
		    memcmp(t, "Key (email)=(***) already exists.", tlen) == 0,
		    "error text: patterns applied");
		ok(hoop_mask_set_text(s, "no data", 7, &t, &tlen, &changed) ==
		    HOOP_OK && !changed && tlen == 7 && memcmp(t, "no data",
		    7) == 0, "error text: unchanged without a match");
		ok(hoop_mask_set_has_columns(s), "column masks apply");
	}

	/* Forgetting asks again. */
	r.calls = 0;
	hoop_mask_set_forget(s);
	ok(hoop_mask_plan_create(s, &alias, 1, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK && r.calls == 1, "forget: asked again");
	ok(hoop_mask_plan_create(s, &alias, 1, NULL, -1, &pl2, why,
	    sizeof(why)) == HOOP_OK && r.calls == 1, "then cached again");
	hoop_mask_plan_free(pl);
	hoop_mask_plan_free(pl2);
	hoop_mask_set_free(s);
	hoop_pg_data_row_release(&row);
	hoop_pg_buf_free(&in);
	hoop_pg_buf_free(&out);
}

static void
test_refuse_and_failures(void)
{
	struct resolver r = { 0 };
	struct hoop_pg_field f[2] = { field("id", USERS, 1, 23, 0),
	    field("count", 0, 0, 20, 0) };
	struct hoop_pg_field view = field("shout", VIEW, 2, 25, 0);
	struct hoop_pg_field base = field("email", USERS, 2, 25, 0);
	struct hoop_pg_field missing = field("x", MISSING, 1, 25, 0);
	struct hoop_pg_field broken = field("x", BROKEN, 1, 25, 0);
	hoop_mask_plan_t *pl = NULL;
	hoop_mask_set_t *s;
	char why[256] = "";
	hoop_err_t err;

	s = make_set("ops", "db", &r, NULL);
	if (!ok(s != NULL, "ops set"))
		return;
	err = hoop_mask_plan_create(s, f, 2, NULL, -1, &pl, why, sizeof(why));
	ok(err == HOOP_ERR_DENIED && pl == NULL &&
	    strstr(why, "column 2") != NULL &&
	    strstr(why, "mask_computed = refuse") != NULL,
	    "refuse: a computed column refuses the result (%s)", why);
	err = hoop_mask_plan_create(s, &view, 1, NULL, -1, &pl, why,
	    sizeof(why));
	ok(err == HOOP_ERR_DENIED && strstr(why, "view") != NULL,
	    "refuse: a view's computed column too (%s)", why);
	err = hoop_mask_plan_create(s, &view, 1, NULL, -1, &pl, why,
	    sizeof(why));
	ok(err == HOOP_ERR_DENIED, "refusal cached");
	ok(hoop_mask_plan_create(s, &base, 1, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK && !hoop_mask_plan_passes(pl),
	    "refuse: table columns still work");
	hoop_mask_plan_free(pl);
	pl = NULL;
	hoop_mask_set_free(s);

	/* dev: a view's computed column gets the patterns. */
	s = make_set("dev", "db", &r, NULL);
	ok(s != NULL && hoop_mask_plan_create(s, &view, 1, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK && strcmp(mask1(pl,
	    "4111 1111 1111 1111"), "***************1111") == 0,
	    "patterns: a view's computed column gets every pattern");
	hoop_mask_plan_free(pl);
	pl = NULL;

	/* Lookups that fail, fail closed, and are not cached. */
	r.fail = 1;
	r.calls = 0;
	err = hoop_mask_plan_create(s, &missing, 1, NULL, -1, &pl, why,
	    sizeof(why));
	ok(err == HOOP_ERR_DENIED && pl == NULL &&
	    strstr(why, "side connection down") != NULL,
	    "resolver error: refused (%s)", why);
	err = hoop_mask_plan_create(s, &missing, 1, NULL, -1, &pl, why,
	    sizeof(why));
	ok(err == HOOP_ERR_DENIED && r.calls == 2, "failure not cached");
	r.fail = 0;
	err = hoop_mask_plan_create(s, &missing, 1, NULL, -1, &pl, why,
	    sizeof(why));
	ok(err == HOOP_ERR_DENIED && strstr(why, "cannot tell") != NULL,
	    "unknown column: refused (%s)", why);
	err = hoop_mask_plan_create(s, &broken, 1, NULL, -1, &pl, why,
	    sizeof(why));
	ok(err == HOOP_ERR_DENIED, "answer without NUL: refused");
	hoop_mask_set_free(s);

	/* A set with column masks needs a resolver. */
	{
		struct hoop_mask_options opt = { .key = key1, .key_len = 32 };
		struct hoop_principal p;

		principal(&p, "dev");
		s = NULL;
		err = hoop_mask_set_create(cfg, &p, "db", &opt, &s, why,
		    sizeof(why));
		ok(err == HOOP_ERR_INVAL && s == NULL,
		    "no resolver: refused (%s)", why);
		opt.key_len = 8;
		opt.resolve = resolve;
		opt.resolve_arg = &r;
		err = hoop_mask_set_create(cfg, &p, "db", &opt, &s, why,
		    sizeof(why));
		ok(err == HOOP_ERR_INVAL && s == NULL, "short key refused");
	}

	/* Pattern-only sets never ask. */
	r.calls = 0;
	s = make_set("dev", "email", &r, NULL);
	ok(s != NULL && hoop_mask_plan_create(s, &base, 1, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK && r.calls == 0,
	    "pattern-only: no lookup");
	ok(!hoop_mask_set_has_columns(s), "pattern-only: no column masks");
	hoop_mask_plan_free(pl);
	hoop_mask_set_free(s);
}

static void
test_strategies(void)
{
	struct resolver r = { 0 };
	struct hoop_pg_field f = field("card", USERS, 3, 25, 0);
	struct hoop_pg_field e = field("email", USERS, 2, 25, 0);
	hoop_mask_plan_t *pl = NULL, *pe = NULL, *pu = NULL;
	hoop_mask_set_t *s, *s2, *su;
	unsigned char md[32];
	unsigned int mdlen = 0;
	char why[256], want[40], h1[40], h2[40];

	s = make_set("dev", "db", &r, NULL);
	s2 = make_set("dev", "db", &r, key2);
	su = make_set("dev", "utf", &r, NULL);
	if (!ok(s != NULL && s2 != NULL && su != NULL, "sets"))
		return;
	ok(hoop_mask_plan_create(s, &f, 1, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK, "card plan");
	ok(strcmp(mask1(pl, "4111"), "***") == 0, "redact: fixed marker");
	ok(strcmp(mask1(pl, ""), "***") == 0, "redact: empty value too");

	/* Hash: HMAC-SHA256 under the key, the first 16 hex digits. */
	ok(hoop_mask_plan_create(s, &e, 1, NULL, -1, &pe, why,
	    sizeof(why)) == HOOP_OK, "email plan");
	snprintf(h1, sizeof(h1), "%s", mask1(pe, "ann@example.com"));
	HMAC(EVP_sha256(), key1, 32, (const unsigned char *)"ann@example.com",
	    15, md, &mdlen);
	hoop_hex_encode(md, 8, want);
	ok(strcmp(h1, want) == 0, "hash is HMAC-SHA256, truncated (%s)", h1);
	ok(strcmp(mask1(pe, "ann@example.com"), h1) == 0, "hash stable");
	ok(strcmp(mask1(pe, "ann@example.co"), h1) != 0 &&
	    is_hash(mask1(pe, "")), "other values differ; empty hashed");
	hoop_mask_plan_free(pe);
	pe = NULL;
	ok(hoop_mask_plan_create(s2, &e, 1, NULL, -1, &pe, why,
	    sizeof(why)) == HOOP_OK, "plan under another key");
	snprintf(h2, sizeof(h2), "%s", mask1(pe, "ann@example.com"));
	ok(is_hash(h2) && strcmp(h1, h2) != 0, "another key, another hash");
	hoop_mask_plan_free(pe);

	/* Partial through a pattern: UTF-8 characters, never over half. */
	pu = computed_plan(su);
	ok(pu != NULL, "utf plan");
	ok(strcmp(mask1(pu, "x café y"), "x **fé y") == 0,
	    "partial keeps characters, not bytes");
	ok(strcmp(mask1(pu, "é"), "é") == 0, "no match, no change");
	ok(strcmp(mask1(pu, "ré"), "*é") == 0, "never more than half kept");
	hoop_mask_plan_free(pu);
	pu = NULL;
	hoop_mask_plan_free(pl);
	hoop_mask_set_free(su);

	/* Partial as a column strategy (its own set). */
	{
		hoop_mask_set_t *c = make_set("dev", "partcard", &r, NULL);

		pu = computed_plan(c);
		ok(pu != NULL && strcmp(mask1(pu, "4111 1111 1111 1111"),
		    "***************1111") == 0, "partial of a match");
		ok(pu != NULL && strcmp(mask1(pu,
		    "\xc3\xa9t\xc3\xa9 4111111111111111 \xe2\x82\xac"),
		    "\xc3\xa9t\xc3\xa9 ************1111 \xe2\x82\xac") == 0,
		    "UTF-8 around a match kept whole");
		hoop_mask_plan_free(pu);
		hoop_mask_set_free(c);
	}

	/* Hash of a match: the match alone is hashed. */
	{
		hoop_mask_set_t *c = make_set("dev", "hashcard", &r, NULL);
		char expect[128];

		HMAC(EVP_sha256(), key1, 32,
		    (const unsigned char *)"4111 1111 1111 1111", 19, md,
		    &mdlen);
		hoop_hex_encode(md, 8, want);
		snprintf(expect, sizeof(expect), "card %s, again %s", want,
		    want);
		pu = computed_plan(c);
		ok(pu != NULL && strcmp(mask1(pu, "card 4111 1111 1111 1111, "
		    "again 4111 1111 1111 1111"), expect) == 0,
		    "hash of each match, equal matches equal");
		hoop_mask_plan_free(pu);
		hoop_mask_set_free(c);
	}
	hoop_mask_set_free(s);
	hoop_mask_set_free(s2);
}

/* Each built-in pattern: what it takes and what it leaves. */
struct pcase {
	const char *target, *in, *want;
};

static const struct pcase pcases[] = {
	{ "email", "mail ann.lee+x@mail.example.com.", "mail ***." },
	{ "email", "A@B.CO", "***" },
	{ "email", "<j\xc3\xb6rg@m\xc3\xbcller.de>", "<***>" },
	{ "email", "a@b, c@d.io", "a@b, ***" },
	{ "email", "user@localhost", "user@localhost" },
	{ "email", "x@10.0.0.1", "x@10.0.0.1" },
	{ "email", "@example.com", "@example.com" },
	{ "email", "no at sign here", "no at sign here" },
	{ "card", "4111111111111111", "***" },
	{ "card", "pay 4111 1111 1111 1111 now", "pay *** now" },
	{ "card", "4111-1111-1111-1111", "***" },
	{ "card", "amex 378282246310005", "amex ***" },
	{ "card", "visa13: 4222222222222", "visa13: ***" },
	{ "card", "19 digits 6011111111111111110", "19 digits ***" },
	{ "card", "12 4111 1111 1111 1111", "12 ***" },
	{ "card", "4111111111111112", "4111111111111112" },
	{ "card", "411111111111", "411111111111" },
	{ "card", "order 41111111111111111111", "order 41111111111111111111" },
	{ "card", "1234567890123456", "1234567890123456" },
	{ "card", "4111  1111 1111 1111", "4111  1111 1111 1111" },
	{ "card", "2024-01-15 10:30", "2024-01-15 10:30" },
	{ "token", "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnLV8 end",
	  "jwt *** end" },
	{ "token", "Authorization: Bearer abcdefghijklmnop0123",
	  "Authorization: Bearer ***" },
	{ "token", "bearer bonds", "bearer bonds" },
	{ "token", "ghp_0123456789abcdefghijklmnopqrstuvwxyz", "***" },
	{ "token", "eyJ alone", "eyJ alone" },
	{ "token", "keyJob.x", "keyJob.x" },
	{ "pem", "k=-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE "
	  "KEY-----\n", "k=***\n" },
	{ "pem", "-----BEGIN RSA PRIVATE KEY-----\nab-cd\n-----END RSA PRIVATE "
	  "KEY----- tail", "*** tail" },
	{ "pem", "-----BEGIN OPENSSH PRIVATE KEY-----\ncut short", "***" },
	{ "pem", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
	  "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----" },
	{ "pem", "-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE-----" },
	{ "aws", "id AKIAIOSFODNN7EXAMPLE.", "id ***." },
	{ "aws", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	  "aws_secret_access_key = ***" },
	{ "aws", "\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"",
	  "\"SecretAccessKey\": \"***\"" },
	{ "aws", "AKIA123", "AKIA123" },
	{ "aws", "XAKIAIOSFODNN7EXAMPLE", "XAKIAIOSFODNN7EXAMPLE" },
	{ "aws", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
};

static void
test_builtins(void)
{
	struct resolver r = { 0 };
	hoop_mask_set_t *s = NULL;
	hoop_mask_plan_t *pl = NULL;
	const char *target = "";
	const char *got;
	size_t i;

	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		if (strcmp(target, pcases[i].target) != 0) {
			hoop_mask_plan_free(pl);
			hoop_mask_set_free(s);
			target = pcases[i].target;
			s = make_set("dev", target, &r, NULL);
			pl = computed_plan(s);
		}
		got = pl != NULL ? mask1(pl, pcases[i].in) : "(no plan)";
		if (!ok(strcmp(got, pcases[i].want) == 0, "%s: case %zu",
		    pcases[i].target, i))
			printf("#   got \"%s\"\n", got);
	}
	hoop_mask_plan_free(pl);
	hoop_mask_set_free(s);
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_hostile(void)
{
	static const char *const targets[] = {
		"email", "card", "token", "pem", "aws"
	};
	struct resolver r = { 0 };
	const size_t big = 4 * 1024 * 1024;
	hoop_mask_plan_t *pl;
	hoop_mask_set_t *s;
	const unsigned char *res;
	unsigned char *v;
	size_t i, len, k;
	int changed, fast = 1;
	double t0;

	if ((v = malloc(big)) == NULL)
		abort();
	/* Runs meant to make a pattern try every start: each built-in
	 * pattern stays linear. */
	for (k = 0; k < sizeof(targets) / sizeof(targets[0]); k++) {
		s = make_set("dev", targets[k], &r, NULL);
		pl = computed_plan(s);
		for (i = 0; i < 4; i++) {
			static const char *const fill[] = {
				"a", "a.", "1 ", "-----BEGIN PRIVATE KEY-----"
			};
			size_t fl = strlen(fill[i]), j;

			for (j = 0; j < big; j++)
				v[j] = (unsigned char)fill[i][j % fl];
			v[big / 2] = '@';
			t0 = now_seconds();
			if (pl == NULL || hoop_mask_plan_value(pl, 0, v, big,
			    &res, &len, &changed) != HOOP_OK)
				fast = 0;
			if (now_seconds() - t0 > 2.0) {
				fast = 0;
				printf("# %s on \"%s\" x 4M: %.1fs\n",
				    targets[k], fill[i], now_seconds() - t0);
			}
		}
		hoop_mask_plan_free(pl);
		hoop_mask_set_free(s);
	}
	ok(fast, "4 MiB hostile values: every built-in pattern is quick");

	/* A catastrophic user pattern hits the match limit: the whole
	 * value is masked, never passed. */
	s = make_set("dev", "evil", &r, NULL);
	pl = computed_plan(s);
	memset(v, 'a', 40);
	v[40] = '!';
	ok(pl != NULL && hoop_mask_plan_value(pl, 0, v, 41, &res, &len,
	    &changed) == HOOP_OK && changed && len == 3 &&
	    memcmp(res, "***", 3) == 0, "match limit: value redacted");
	ok(pl != NULL && strcmp(mask1(pl, "xaaa"), "x***") == 0,
	    "the pattern still works");
	hoop_mask_plan_free(pl);
	hoop_mask_set_free(s);

	/* Invalid UTF-8 through a UTF pattern and through partial. */
	s = make_set("dev", "utf", &r, NULL);
	pl = computed_plan(s);
	ok(pl != NULL && strcmp(mask1(pl, "\xff\xfe caf\xc3\xa9 \xc3"),
	    "\xff\xfe **f\xc3\xa9 \xc3") == 0, "invalid UTF-8 around a match");
	hoop_mask_plan_free(pl);
	hoop_mask_set_free(s);

	/* NUL bytes inside a value. */
	s = make_set("dev", "card", &r, NULL);
	pl = computed_plan(s);
	ok(pl != NULL && hoop_mask_plan_value(pl, 0,
	    "\0004111111111111111\0", 18, &res, &len, &changed) == HOOP_OK &&
	    changed && len == 5 && memcmp(res, "\0***\0", 5) == 0,
	    "NUL bytes around a card");
	hoop_mask_plan_free(pl);
	hoop_mask_set_free(s);
	free(v);
}

static void
test_binary(void)
{
	struct resolver r = { 0 };
	struct hoop_pg_field text_bin = field("email", USERS, 2, 25, 1);
	struct hoop_pg_field int_bin = field("name", USERS, 5, 23, 1);
	struct hoop_pg_field bytea_bin = field("email", USERS, 2, 17, 1);
	struct hoop_pg_field jsonb_bin = field("notes", USERS, 4, 3802, 1);
	struct hoop_pg_field nums[2] = { field("a", 0, 0, 23, 0),
	    field("b", 0, 0, 20, 0) };
	struct hoop_pg_field two[2] = { field("email", USERS, 2, 25, 0),
	    field("id", USERS, 1, 23, 0) };
	const int16_t binary = 1;
	struct hoop_pg_buf in = { 0 }, out = { 0 };
	struct hoop_pg_data_row row = { 0 };
	hoop_mask_plan_t *pl = NULL;
	hoop_mask_set_t *s;
	struct hoop_pg_msg m;
	const char *v[2];
	int32_t lens[2];
	char why[256], h[40];
	hoop_err_t err;

	s = make_set("dev", "db", &r, NULL);
	if (!ok(s != NULL, "set"))
		return;
	/* Binary text is its bytes: masked as text, NUL bytes and all. */
	ok(hoop_mask_plan_create(s, &text_bin, 1, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK, "binary text column: allowed");
	snprintf(h, sizeof(h), "%s", mask1(pl, "ann@example.com"));
	v[0] = "ann@example.com";
	make_row(&in, v, NULL, 1, &m);
	ok(hoop_mask_data_row(pl, &m, &out, why, sizeof(why)) == HOOP_OK &&
	    parse_row(&out, &row) && value_is(&row, 0, h),
	    "binary text hashed as text is");
	v[0] = "a\0b";
	lens[0] = 3;
	make_row(&in, v, lens, 1, &m);
	out.len = 0;
	ok(hoop_mask_data_row(pl, &m, &out, why, sizeof(why)) == HOOP_OK &&
	    parse_row(&out, &row) && row.values[0].len == 16,
	    "NUL bytes in a binary value hashed");
	v[0] = NULL;
	make_row(&in, v, NULL, 1, &m);
	out.len = 0;
	ok(hoop_mask_data_row(pl, &m, &out, why, sizeof(why)) == HOOP_OK &&
	    parse_row(&out, &row) && value_is(&row, 0, NULL),
	    "NULL stays NULL");
	hoop_mask_plan_free(pl);
	pl = NULL;

	err = hoop_mask_plan_create(s, &int_bin, 1, NULL, -1, &pl, why,
	    sizeof(why));
	ok(err == HOOP_ERR_DENIED && strstr(why, "binary") != NULL,
	    "binary int4 under a column mask: refused (%s)", why);
	err = hoop_mask_plan_create(s, &bytea_bin, 1, NULL, -1, &pl, why,
	    sizeof(why));
	ok(err == HOOP_ERR_DENIED, "binary bytea: refused");

	/* jsonb keeps its version byte. */
	ok(hoop_mask_plan_create(s, &jsonb_bin, 1, NULL, -1, &pl, why,
	    sizeof(why)) == HOOP_OK, "binary jsonb: allowed");
	v[0] = "\001{\"c\": \"4111 1111 1111 1111\"}";
	make_row(&in, v, NULL, 1, &m);
	out.len = 0;
	ok(hoop_mask_data_row(pl, &m, &out, why, sizeof(why)) == HOOP_OK &&
	    parse_row(&out, &row) &&
	    value_is(&row, 0, "\001{\"c\": \"***************1111\"}"),
	    "jsonb masked after its version byte");
	v[0] = "\002{}";
	make_row(&in, v, NULL, 1, &m);
	out.len = 7;
	ok(hoop_mask_data_row(pl, &m, &out, why, sizeof(why)) ==
	    HOOP_ERR_DENIED && out.len == 7, "jsonb of another version: "
	    "refused, out untouched");
	hoop_mask_plan_free(pl);
	pl = NULL;

	/* Bind's result formats override the description's. */
	ok(hoop_mask_plan_create(s, two, 2, &binary, 1, &pl, why,
	    sizeof(why)) == HOOP_OK, "all-binary Bind: text and int4");
	hoop_mask_plan_free(pl);
	pl = NULL;
	hoop_mask_set_free(s);

	/* Patterns over binary numbers: searched, refused on a match. */
	s = make_set("dev", "digits", &r, NULL);
	ok(s != NULL && hoop_mask_plan_create(s, nums, 2, &binary, 1, &pl,
	    why, sizeof(why)) == HOOP_OK, "binary numbers under patterns");
	v[0] = "\x00\x00\x30\x39";		/* 12345 */
	v[1] = "\x00\x00\x00\x00\x00\x00\x00\x07";
	lens[0] = 4;
	lens[1] = 8;
	make_row(&in, v, lens, 2, &m);
	out.len = 0;
	ok(pl != NULL && hoop_mask_data_row(pl, &m, &out, why, sizeof(why)) ==
	    HOOP_OK && out.len == in.len && memcmp(out.data, in.data,
	    in.len) == 0, "no match: row unchanged");
	v[0] = "\x00\x01\xe2\x40";		/* 123456 */
	make_row(&in, v, lens, 2, &m);
	ok(pl != NULL && hoop_mask_data_row(pl, &m, &out, why, sizeof(why)) ==
	    HOOP_ERR_DENIED, "a match in a binary number: refused (%s)", why);
	lens[0] = 3;
	make_row(&in, v, lens, 2, &m);
	ok(pl != NULL && hoop_mask_data_row(pl, &m, &out, why, sizeof(why)) ==
	    HOOP_ERR_DENIED, "a binary int4 of 3 bytes: refused");
	v[0] = "1";
	v[1] = "2";
	make_row(&in, v, NULL, 1, &m);
	ok(pl != NULL && hoop_mask_data_row(pl, &m, &out, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "fewer columns than described: refused");
	hoop_mask_plan_free(pl);
	hoop_mask_set_free(s);
	hoop_pg_data_row_release(&row);
	hoop_pg_buf_free(&in);
	hoop_pg_buf_free(&out);
}

/* ---- COPY ---- */

/* The payload of every CopyData message in out, joined. */
static char *
copy_payload(const struct hoop_pg_buf *out, size_t *len)
{
	struct hoop_pg_msg m;
	size_t off = 0, need;
	char why[64], *p;

	if ((p = malloc(out->len + 1)) == NULL)
		abort();
	*len = 0;
	while (off < out->len) {
		if (hoop_pg_frame(out->data + off, out->len - off, 0, &m, &need,
		    why, sizeof(why)) != HOOP_PG_FRAME_OK ||
		    m.type != HOOP_PG_B_COPY_DATA)
			abort();
		memcpy(p + *len, m.body, m.len);
		*len += m.len;
		off += m.size;
	}
	p[*len] = '\0';
	return p;
}

/* Feeds data in pieces of step bytes (0: whole), then ends. */
static hoop_err_t
run_copy(hoop_mask_set_t *s, const struct hoop_pg_field *cols, size_t n,
    const struct hoop_mask_copy_format *fmt, const char *data, size_t len,
    size_t step, char **res, char *why, size_t whylen)
{
	struct hoop_pg_buf out = { 0 };
	hoop_mask_copy_t *c = NULL;
	hoop_err_t err;
	size_t off, k, rlen;

	*res = NULL;
	if ((err = hoop_mask_copy_start(s, cols, n, fmt, &c, why, whylen)) !=
	    HOOP_OK)
		return err;
	for (off = 0; off < len || (len == 0 && off == 0); off += k) {
		k = step == 0 ? len : len - off < step ? len - off : step;
		if ((err = hoop_mask_copy_data(c, data + off, k, &out, why,
		    whylen)) != HOOP_OK)
			goto out;
		if (k == 0)
			break;
	}
	if ((err = hoop_mask_copy_end(c, &out, why, whylen)) != HOOP_OK)
		goto out;
	*res = copy_payload(&out, &rlen);
out:
	hoop_mask_copy_free(c);
	hoop_pg_buf_free(&out);
	return err;
}

/* Whole, every split in two, and byte by byte must give want. */
static int
copy_everywhere(hoop_mask_set_t *s, const struct hoop_pg_field *cols,
    size_t n, const struct hoop_mask_copy_format *fmt, const char *data,
    const char *want)
{
	struct hoop_pg_buf out = { 0 };
	size_t len = strlen(data), cut, rlen;
	hoop_mask_copy_t *c;
	char why[256], *res;
	int good = 1;

	if (run_copy(s, cols, n, fmt, data, len, 0, &res, why, sizeof(why)) !=
	    HOOP_OK || strcmp(res, want) != 0) {
		printf("#   whole: %s\n#   got  \"%s\"\n", why,
		    res ? res : "");
		free(res);
		return 0;
	}
	free(res);
	if (run_copy(s, cols, n, fmt, data, len, 1, &res, why, sizeof(why)) !=
	    HOOP_OK || strcmp(res, want) != 0)
		good = 0;
	free(res);
	for (cut = 1; cut < len && good; cut++) {
		c = NULL;
		out.len = 0;
		if (hoop_mask_copy_start(s, cols, n, fmt, &c, why,
		    sizeof(why)) != HOOP_OK ||
		    hoop_mask_copy_data(c, data, cut, &out, why, sizeof(why)) !=
		    HOOP_OK || hoop_mask_copy_data(c, data + cut, len - cut,
		    &out, why, sizeof(why)) != HOOP_OK ||
		    hoop_mask_copy_end(c, &out, why, sizeof(why)) != HOOP_OK)
			good = 0;
		else {
			res = copy_payload(&out, &rlen);
			good = strcmp(res, want) == 0;
			if (!good)
				printf("#   cut at %zu: \"%s\"\n", cut, res);
			free(res);
		}
		hoop_mask_copy_free(c);
	}
	hoop_pg_buf_free(&out);
	return good;
}

static void
test_copy_text(void)
{
	struct resolver r = { 0 };
	struct hoop_pg_field cols[4] = { field("id", USERS, 1, 23, 0),
	    field("email", OTHER, 1, 25, 0), field("card", USERS, 3, 25, 0),
	    field("notes", USERS, 4, 25, 0) };
	struct hoop_mask_copy_format fmt = { .kind = HOOP_MASK_COPY_TEXT };
	hoop_mask_set_t *s;
	char why[256], *res;
	hoop_err_t err;

	s = make_set("dev", "db", &r, NULL);
	if (!ok(s != NULL, "set"))
		return;
	ok(copy_everywhere(s, cols, 4, &fmt,
	    "1\tann@ex.org\t4111\tnone\n"
	    "2\t\\N\t\\N\tcard 4111\\t1111 1111 1111\n"
	    "3\tb\\\\ob@ex.org\tx\tcard\\n4111-1111-1111-1111\\\\\n",
	    "1\t***\t***\tnone\n"
	    "2\t\\N\t\\N\tcard 4111\\t1111 1111 1111\n"
	    "3\tb\\\\***\t***\tcard\\n***************1111\\\\\n"),
	    "text: masked by position, NULL kept, escapes decoded and "
	    "written back, every cut");
	ok(copy_everywhere(s, cols, 4, &fmt,
	    "4\tx\\\ty\\\\\tz\\\n\tw@ex.org\n",
	    "4\tx\\\ty\\\\\t***\t***\n"),
	    "text: escaped delimiter and escaped newline stay inside fields");
	ok(copy_everywhere(s, cols, 4, &fmt,
	    "5\ta\tb\tc\r\n6\td\te\tf\r\n",
	    "5\ta\t***\tc\r\n6\td\t***\tf\r\n"), "text: CRLF rows");
	ok(copy_everywhere(s, cols, 4, &fmt, "7\ta\tb\tc@ex.org",
	    "7\ta\t***\t***"), "text: last row without newline");
	fmt.header = 1;
	ok(copy_everywhere(s, cols, 4, &fmt,
	    "id\temail\tcard\tnotes\n8\ta\tb\tc\n",
	    "id\temail\tcard\tnotes\n8\ta\t***\tc\n"), "text: header passes");
	fmt.header = 0;
	fmt.delimiter = '|';
	fmt.null_string = "NULL";
	err = run_copy(s, cols, 4, &fmt, "9|a\\|b|NULL|x|y\n", 16, 0, &res,
	    why, sizeof(why));
	ok(err == HOOP_ERR_DENIED, "text: five fields for four: refused");
	free(res);
	ok(copy_everywhere(s, cols, 4, &fmt, "9|a\\|b|NULL|x\n",
	    "9|a\\|b|NULL|x\n"), "text: own delimiter and null string");
	ok(copy_everywhere(s, cols, 4, &fmt,
	    "9|a|b|\\x34" "111" "\\061" "11111111111" "\\n\n",
	    "9|a|***|************1111\\n\n"), "text: \\x and octal escapes");
	fmt.delimiter = 0;
	fmt.null_string = NULL;

	err = run_copy(s, cols, 4, &fmt, "1\t2\t3\n", 6, 0, &res, why,
	    sizeof(why));
	ok(err == HOOP_ERR_DENIED && strstr(why, "fields") != NULL,
	    "text: three fields for four: refused (%s)", why);
	free(res);
	err = run_copy(s, cols, 0, &fmt, "\n\n", 2, 0, &res, why,
	    sizeof(why));
	ok(err == HOOP_OK && res != NULL && strcmp(res, "\n\n") == 0,
	    "no columns at all: passes");
	free(res);
	fmt.kind = HOOP_MASK_COPY_BINARY;
	err = run_copy(s, cols, 4, &fmt, "PGCOPY", 6, 0, &res, why,
	    sizeof(why));
	ok(err == HOOP_ERR_DENIED, "binary COPY of masked columns: refused");
	free(res);
	{
		hoop_mask_set_t *none = make_set("nobody", "db", &r, NULL);

		err = run_copy(none, cols, 1, &fmt, "PGCOPY\n\377", 8, 0,
		    &res, why, sizeof(why));
		ok(err == HOOP_OK && res != NULL &&
		    strcmp(res, "PGCOPY\n\377") == 0,
		    "binary COPY of unmasked columns: passes");
		free(res);
		hoop_mask_set_free(none);
	}
	fmt.kind = HOOP_MASK_COPY_TEXT;
	fmt.delimiter = '\\';
	err = run_copy(s, cols, 4, &fmt, "", 0, 0, &res, why, sizeof(why));
	ok(err == HOOP_ERR_INVAL, "text: backslash delimiter refused");
	free(res);
	hoop_mask_set_free(s);
}

static void
test_copy_limits(void)
{
	struct resolver r = { 0 };
	struct hoop_pg_field cols[1] = { field("card", USERS, 3, 25, 0) };
	struct hoop_mask_copy_format fmt = { .kind = HOOP_MASK_COPY_TEXT };
	struct hoop_mask_options opt = { .resolve = resolve, .resolve_arg = &r,
	    .key = key1, .key_len = 32, .max_row = 16 };
	struct hoop_pg_buf out = { 0 };
	struct hoop_principal p;
	hoop_mask_copy_t *c = NULL;
	hoop_mask_set_t *s = NULL;
	char why[256];

	principal(&p, "dev");
	ok(hoop_mask_set_create(cfg, &p, "db", &opt, &s, why, sizeof(why)) ==
	    HOOP_OK && hoop_mask_copy_start(s, cols, 1, &fmt, &c, why,
	    sizeof(why)) == HOOP_OK, "set with max_row 16");
	if (c == NULL)
		return;
	ok(hoop_mask_copy_data(c, "0123456789\n0123", 15, &out, why,
	    sizeof(why)) == HOOP_OK, "rows within the limit");
	ok(hoop_mask_copy_data(c, "456789abcdef", 12, &out, why,
	    sizeof(why)) == HOOP_OK, "row held up to the limit");
	out.len = 3;
	ok(hoop_mask_copy_data(c, "x", 1, &out, why, sizeof(why)) ==
	    HOOP_ERR_TOOBIG && out.len == 3, "row over max_row: refused (%s)",
	    why);
	ok(hoop_mask_copy_data(c, "\n", 1, &out, why, sizeof(why)) ==
	    HOOP_ERR_INVAL, "stream unusable after an error");
	hoop_mask_copy_free(c);
	hoop_mask_set_free(s);
	hoop_pg_buf_free(&out);
}

static void
test_copy_csv(void)
{
	struct resolver r = { 0 };
	struct hoop_pg_field cols[3] = { field("id", USERS, 1, 23, 0),
	    field("card", USERS, 3, 25, 0), field("notes", USERS, 4, 25, 0) };
	struct hoop_mask_copy_format fmt = { .kind = HOOP_MASK_COPY_CSV };
	hoop_mask_set_t *s;
	char why[256], *res;
	hoop_err_t err;

	s = make_set("dev", "db", &r, NULL);
	if (!ok(s != NULL, "set"))
		return;
	ok(copy_everywhere(s, cols, 3, &fmt,
	    "1,4111,plain\n"
	    "2,\"a,b\",\"x \"\"4111 1111 1111 1111\"\"\"\n"
	    "3,,\n"
	    "4,\"\",\"multi\nline 4111111111111111\"\n",
	    "1,\"***\",plain\n"
	    "2,\"***\",\"x \"\"***************1111\"\"\"\n"
	    "3,,\n"
	    "4,\"***\",\"multi\nline ************1111\"\n"),
	    "csv: quotes, doubled quotes, NULL vs empty, a row over two "
	    "lines, every cut");
	ok(copy_everywhere(s, cols, 3, &fmt, "5,ab\"c,d\"e,\"f\"\n",
	    "5,\"***\",\"f\"\n"), "csv: a quote opening inside a field");
	fmt.header = 1;
	ok(copy_everywhere(s, cols, 3, &fmt,
	    "id,\"card\nnumber\",notes\r\n6,x,y\r\n",
	    "id,\"card\nnumber\",notes\r\n6,\"***\",y\r\n"),
	    "csv: quoted header over two lines, CRLF");
	fmt.header = 0;
	fmt.escape = '\\';
	fmt.quote = '\'';
	fmt.delimiter = ';';
	fmt.null_string = "NULL";
	ok(copy_everywhere(s, cols, 3, &fmt,
	    "7;'it\\'s';'x\\\\y 4111 1111 1111 1111'\n8;NULL;'NULL'\n",
	    "7;'***';'x\\\\y ***************1111'\n8;NULL;'NULL'\n"),
	    "csv: own quote, escape, delimiter and null string");
	fmt = (struct hoop_mask_copy_format){ .kind = HOOP_MASK_COPY_CSV };
	err = run_copy(s, cols, 3, &fmt, "1,\"open\n", 8, 0, &res, why,
	    sizeof(why));
	ok(err == HOOP_ERR_INVAL && strstr(why, "quoted") != NULL,
	    "csv: data ending inside quotes refused (%s)", why);
	free(res);
	err = run_copy(s, cols, 3, &fmt, "1,2\n", 4, 0, &res, why,
	    sizeof(why));
	ok(err == HOOP_ERR_DENIED, "csv: two fields for three: refused");
	free(res);
	fmt.quote = ',';
	err = run_copy(s, cols, 3, &fmt, "", 0, 0, &res, why, sizeof(why));
	ok(err == HOOP_ERR_INVAL, "csv: quote equal to delimiter refused");
	free(res);
	hoop_mask_set_free(s);
}

/* The key comes from mask_key_file when none is given. */
static void
test_key_file(void)
{
	char dir[] = "/tmp/hoop-test-mask.XXXXXX", path[128], text[2048];
	struct hoop_mask_options opt = { 0 };
	struct hoop_principal p;
	hoop_config_t *c = NULL;
	hoop_mask_set_t *s = NULL;
	struct resolver r = { 0 };
	char why[256] = "";
	hoop_err_t err;
	int fd;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/key", dir);
	snprintf(text, sizeof(text), "mask_key_file = \"%s\"\n%.*s", path,
	    (int)(strstr(conf, "policy \"strict\"") - conf), conf);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd == -1 || write(fd, key1, 32) != 32 || write(fd, "\n", 1) != 1)
		abort();
	close(fd);
	ok(hoop_config_load_buf(text, strlen(text), "t.conf", 0, &c, NULL,
	    NULL) == HOOP_OK, "config with mask_key_file");
	if (c == NULL)
		goto out;
	memset(&p, 0, sizeof(p));
	p.identity = hoop_config_identity(c, "dev");
	opt.resolve = resolve;
	opt.resolve_arg = &r;
	err = hoop_mask_set_create(c, &p, "db", &opt, &s, why, sizeof(why));
	ok(err == HOOP_OK, "key read from the file (%s)", why);
	{
		struct hoop_pg_field e = field("email", USERS, 2, 25, 0);
		hoop_mask_plan_t *pl = NULL;
		unsigned char md[32];
		unsigned int mdlen;
		char want[40];

		HMAC(EVP_sha256(), key1, 32, (const unsigned char *)"x", 1, md,
		    &mdlen);
		hoop_hex_encode(md, 8, want);
		ok(s != NULL && hoop_mask_plan_create(s, &e, 1, NULL, -1, &pl,
		    why, sizeof(why)) == HOOP_OK && strcmp(mask1(pl, "x"),
		    want) == 0, "the file's key, its newline dropped");
		hoop_mask_plan_free(pl);
	}
	hoop_mask_set_free(s);
	s = NULL;
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd == -1 || write(fd, "short\n", 6) != 6)
		abort();
	close(fd);
	err = hoop_mask_set_create(c, &p, "db", &opt, &s, why, sizeof(why));
	ok(err == HOOP_ERR_CONFIG && s == NULL && strstr(why, "5 bytes"),
	    "short key file: refused (%s)", why);
	unlink(path);
	err = hoop_mask_set_create(c, &p, "db", &opt, &s, why, sizeof(why));
	ok(err == HOOP_ERR_CONFIG && s == NULL, "missing key file: refused "
	    "(%s)", why);
	p.identity = hoop_config_identity(c, "nobody");
	err = hoop_mask_set_create(c, &p, "db", &opt, &s, why, sizeof(why));
	ok(err == HOOP_OK && s != NULL, "no hash mask applies: no key needed");
	hoop_mask_set_free(s);
out:
	hoop_config_free(c);
	unlink(path);
	rmdir(dir);
}


/* One COPY statement read: its describe query and format. */
static int
copy_stmt_is(const char *sql, const char *describe, int kind, char delim,
    const char *null_s, int header)
{
	struct hoop_mask_copy_statement st;
	char why[256];
	int r;

	if (hoop_mask_copy_statement(sql, strlen(sql), &st, why,
	    sizeof(why)) != HOOP_OK) {
		fprintf(stderr, "# %s: %s\n", sql, why);
		return 0;
	}
	r = strcmp(st.describe, describe) == 0 && (int)st.fmt.kind == kind &&
	    st.fmt.delimiter == delim && st.fmt.header == header &&
	    ((null_s == NULL && st.fmt.null_string == NULL) ||
	    (null_s != NULL && st.fmt.null_string != NULL &&
	    strcmp(null_s, st.fmt.null_string) == 0));
	if (!r)
		fprintf(stderr, "# %s: describe [%s] kind %d delim %d header "
		    "%d\n", sql, st.describe, st.fmt.kind, st.fmt.delimiter,
		    st.fmt.header);
	hoop_mask_copy_statement_release(&st);
	return r;
}

/* Refused with want, a reason holding want_why. */
static int
copy_stmt_refused(const char *sql, size_t len, hoop_err_t want,
    const char *want_why)
{
	struct hoop_mask_copy_statement st;
	char why[256] = "";
	hoop_err_t err;

	err = hoop_mask_copy_statement(sql, len, &st, why, sizeof(why));
	if (err == HOOP_OK)
		hoop_mask_copy_statement_release(&st);
	if (err != want || strstr(why, want_why) == NULL) {
		fprintf(stderr, "# %.60s: %d %s\n", sql, err, why);
		return 0;
	}
	return st.describe == NULL;
}

static void
test_copy_statement(void)
{
	static const char deep_head[] = "COPY (SELECT ";
	char *big;
	size_t i, n;

	ok(copy_stmt_is("COPY users TO STDOUT", "SELECT * FROM \"users\"",
	    HOOP_MASK_COPY_TEXT, 0, NULL, 0), "table: every column");
	ok(copy_stmt_is("copy Public.\"Us\"\"ers\" (id, \"E mail\") to stdout",
	    "SELECT \"id\", \"E mail\" FROM \"public\".\"Us\"\"ers\"",
	    HOOP_MASK_COPY_TEXT, 0, NULL, 0),
	    "table and columns: quoted as the parser read them");
	ok(copy_stmt_is("COPY db.s.t TO STDOUT", "SELECT * FROM \"db\".\"s\"."
	    "\"t\"", HOOP_MASK_COPY_TEXT, 0, NULL, 0), "catalog.schema.table");
	ok(copy_stmt_is("/* ( */ COPY -- (\n ( SELECT a, ')' FROM x WHERE "
	    "f((1)) = $$)$$ ) TO STDOUT (FORMAT csv, HEADER, DELIMITER ';', "
	    "NULL 'N', FORCE_QUOTE *)",
	    " SELECT a, ')' FROM x WHERE f((1)) = $$)$$ ",
	    HOOP_MASK_COPY_CSV, ';', "N", 1),
	    "query: the parentheses' text, however strings and comments hide "
	    "parentheses");
	ok(copy_stmt_is("COPY t TO STDOUT WITH CSV HEADER DELIMITER AS '|' "
	    "NULL AS ''", "SELECT * FROM \"t\"", HOOP_MASK_COPY_CSV, '|', "",
	    1), "the old option syntax");
	ok(copy_stmt_is("COPY BINARY t TO STDOUT", "SELECT * FROM \"t\"",
	    HOOP_MASK_COPY_BINARY, 0, NULL, 0), "COPY BINARY");
	ok(copy_stmt_is("COPY t TO STDOUT (HEADER off, ENCODING 'utf-8', "
	    "FORMAT text)", "SELECT * FROM \"t\"", HOOP_MASK_COPY_TEXT, 0,
	    NULL, 0), "HEADER off, ENCODING UTF8");
	ok(copy_stmt_is("COPY t TO STDOUT (HEADER 1)", "SELECT * FROM \"t\"",
	    HOOP_MASK_COPY_TEXT, 0, NULL, 1), "HEADER 1");

	ok(copy_stmt_refused("COPY t FROM STDIN", 17, HOOP_ERR_INVAL,
	    "not a COPY TO STDOUT"), "COPY FROM: not for masking");
	ok(copy_stmt_refused("COPY t TO '/tmp/x'", 18, HOOP_ERR_INVAL,
	    "not a COPY TO STDOUT"), "COPY to a file");
	ok(copy_stmt_refused("COPY (SELECT 1) TO PROGRAM 'id'", 31,
	    HOOP_ERR_INVAL, "not a COPY TO STDOUT"), "COPY to a program");
	ok(copy_stmt_refused("SELECT 1", 8, HOOP_ERR_INVAL,
	    "not a COPY statement"), "not a COPY");
	ok(copy_stmt_refused("COPY t TO STDOUT; COPY u TO STDOUT", 34,
	    HOOP_ERR_INVAL, "not a COPY statement"), "two statements");
	ok(copy_stmt_refused("COPY (SELECT 1", 14, HOOP_ERR_INVAL,
	    "cannot find"), "unclosed query");
	ok(copy_stmt_refused("COPY (SELECT 1) TO STDOUT (", 27,
	    HOOP_ERR_INVAL, "not a COPY"), "syntax error after the query");
	ok(copy_stmt_refused("COPY t TO STDOUT\0 (FORMAT binary)", 33,
	    HOOP_ERR_INVAL, "not a COPY"), "NUL inside");
	ok(copy_stmt_refused("COPY t TO STDOUT (ENCODING 'LATIN1')", 36,
	    HOOP_ERR_INVAL, "encoding other than UTF8"),
	    "ENCODING LATIN1: refused");
	ok(copy_stmt_refused("COPY t TO STDOUT (HEADER match)", 31,
	    HOOP_ERR_INVAL, "header"), "HEADER MATCH: refused");
	ok(copy_stmt_refused("COPY t TO STDOUT (HEADER 2)", 27,
	    HOOP_ERR_INVAL, "header"), "HEADER 2: refused");
	ok(copy_stmt_refused("COPY t TO STDOUT (FORMAT 'CSV')", 31,
	    HOOP_ERR_INVAL, "format"), "FORMAT 'CSV' (the server refuses "
	    "it too)");
	ok(copy_stmt_refused("COPY t TO STDOUT (DELIMITER '||')", 33,
	    HOOP_ERR_INVAL, "delimiter"), "two-byte delimiter");
	ok(copy_stmt_refused("COPY t TO STDOUT (frobnicate)", 29,
	    HOOP_ERR_INVAL, "frobnicate"), "unknown option");

	/* Hostile: a query nested deep and a statement over the limit. */
	n = 200000;
	if ((big = malloc(n + 64)) == NULL)
		abort();
	memcpy(big, deep_head, sizeof(deep_head) - 1);
	for (i = sizeof(deep_head) - 1; i < n; i++)
		big[i] = i % 2 ? '1' : '+';
	memcpy(big + n, "1) TO STDOUT", 13);
	{
		struct hoop_mask_copy_statement st;
		char why[128];

		ok(hoop_mask_copy_statement(big, strlen(big), &st, why,
		    sizeof(why)) == HOOP_OK && strlen(st.describe) == n - 5 &&
		    memcmp(st.describe, "SELECT 1+1+", 11) == 0,
		    "a 200 KB left-deep query: its text taken whole, its tree "
		    "never written out");
		hoop_mask_copy_statement_release(&st);
	}
	free(big);
	n = HOOP_SQL_MAX_QUERY + 1;
	if ((big = malloc(n)) == NULL)
		abort();
	memset(big, ' ', n);
	memcpy(big, "COPY t TO STDOUT", 16);
	ok(copy_stmt_refused(big, n, HOOP_ERR_TOOBIG, "bytes"),
	    "over 1 MiB: refused");
	free(big);
}

int
main(void)
{
	char why[1024] = "";

	if (hoop_config_load_buf(conf, strlen(conf), "t.conf",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, NULL, NULL) != HOOP_OK) {
		ok(0, "test configuration loads %s", why);
		return done_testing();
	}
	test_builtin_names();
	test_inactive();
	test_plans();
	test_refuse_and_failures();
	test_strategies();
	test_builtins();
	test_hostile();
	test_binary();
	test_copy_text();
	test_copy_limits();
	test_copy_csv();
	test_copy_statement();
	test_key_file();
	hoop_config_free(cfg);
	return done_testing();
}
