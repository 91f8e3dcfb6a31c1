/*
 * Statement classifier cost: hoop_sql_parse (libpg_query parse, the walk,
 * a fingerprint per statement) and hoop_sql_decide, per statement, for a
 * few typical statements. Figures only. Build and run:
 *   make build/libhoop.a build/obj/tests/bench/bench_sql.o
 *   cc -o build/bench/bench_sql build/obj/tests/bench/bench_sql.o \
 *       build/libhoop.a $(pkg-config --libs libconfuse sqlite3 libcrypto \
 *       jansson libpcre2-8 libcurl) -lpg_query -lpthread
 *   build/bench/bench_sql [iterations]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hoop_sql.h"

static const char conf[] =
    "issuer \"gh\" { url = \"https://issuer.example\" audience = {\"hoop\"} }\n"
    "identity \"ro\" { issuer = \"gh\" claim \"sub\" { equals = {\"x\"} } "
    "login = \"ro\" }\n"
    "target \"db\" { type = \"postgres\" host = \"db\" user = \"u\" }\n"
    "policy \"p\" { identities = {\"ro\"} targets = {\"db\"}\n"
    "  rule \"read\" { action = \"allow\" statements = {\"read\", "
    "\"transaction\"} }\n"
    "  rule \"files\" { action = \"deny\" functions = {\"pg_read_file\"} }\n"
    "}\n";

static const char *const queries[] = {
	"select 1",
	"SELECT id, name, email FROM users WHERE id = $1 ORDER BY name "
	    "LIMIT 10",
	"SELECT o.id, c.name, sum(l.price * l.qty) AS total FROM orders o "
	    "JOIN customers c ON c.id = o.customer_id JOIN lines l ON "
	    "l.order_id = o.id WHERE o.created_at > now() - interval '7 days' "
	    "GROUP BY o.id, c.name HAVING sum(l.price * l.qty) > 100 "
	    "ORDER BY total DESC LIMIT 50",
	"UPDATE accounts SET balance = balance - 10 WHERE id = 42",
	"WITH x AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM x",
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct hoop_principal p;
	struct hoop_sql_decision d;
	hoop_config_t *cfg = NULL;
	hoop_sql_t *sql;
	double t0, t1, t2;
	char why[256];
	long i, n = argc > 1 ? atol(argv[1]) : 20000;
	size_t q;

	if (n <= 0 || hoop_config_load_buf(conf, sizeof(conf) - 1, "bench",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, NULL, NULL) != HOOP_OK)
		return 1;
	memset(&p, 0, sizeof(p));
	p.identity = hoop_config_identity(cfg, "ro");
	printf("%-60s %10s %10s\n", "statement", "parse us", "decide us");
	for (q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
		if (hoop_sql_parse(queries[q], strlen(queries[q]), &sql, why,
		    sizeof(why)) != HOOP_OK) {
			fprintf(stderr, "%s: %s\n", queries[q], why);
			return 1;
		}
		hoop_sql_free(sql);
		t0 = now();
		for (i = 0; i < n; i++) {
			if (hoop_sql_parse(queries[q], strlen(queries[q]),
			    &sql, why, sizeof(why)) != HOOP_OK)
				return 1;
			hoop_sql_free(sql);
		}
		t1 = now();
		hoop_sql_parse(queries[q], strlen(queries[q]), &sql, why,
		    sizeof(why));
		for (i = 0; i < n; i++)
			hoop_sql_decide(cfg, &p, "db", hoop_sql_stmt_at(sql, 0),
			    &d);
		t2 = now();
		hoop_sql_free(sql);
		printf("%-60.60s %10.2f %10.2f\n", queries[q],
		    (t1 - t0) / n * 1e6, (t2 - t1) / n * 1e6);
	}
	hoop_config_free(cfg);
	return 0;
}
