/*
 * Test tool: a libpq client for tests/bats/pgwrap.bats, for what psql
 * cannot ask for: results in binary format, prepared statements run
 * again, and pipelines (several extended-protocol queries before one
 * Sync).
 *
 *   pgwrap-pq FILE
 *
 * Connects as libpq does from the environment (hoop-pgwrap sets PGHOST,
 * PGPORT, PGUSER, PGDATABASE and PGPASSFILE for its client) and runs
 * the steps of FILE, one per line:
 *   text SQL                 PQexecParams, results in text format
 *   binary SQL               PQexecParams, results in binary format
 *   prepare NAME SQL         PQprepare
 *   exec NAME text|binary [VALUE...]
 *                            PQexecPrepared with text parameters
 *   pipeline                 pipeline mode: the text and binary steps
 *                            after it are sent, not waited for...
 *   sync                     ...until this: PQpipelineSync, then every
 *                            result; pipeline mode ends
 * Prints, one per line: "row: a|b" (NULL as \N; a binary value as its
 * bytes when printable, else \x and hex), "ok: TAG" ("ok" for a
 * prepare), "error: SQLSTATE
 * message", "aborted" (a pipeline query the server skipped).
 * Exit 0; 2 when the connection or the file fails.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#define MAX_LINE	4096
#define MAX_VALUES	16

static void
print_value(const PGresult *r, int row, int col)
{
	const unsigned char *v;
	int i, len, printable = 1;

	if (PQgetisnull(r, row, col)) {
		fputs("\\N", stdout);
		return;
	}
	v = (const unsigned char *)PQgetvalue(r, row, col);
	len = PQgetlength(r, row, col);
	for (i = 0; i < len; i++)
		if (!isprint(v[i]))
			printable = 0;
	if (PQfformat(r, col) == 0 || printable) {
		fwrite(v, 1, (size_t)len, stdout);
		return;
	}
	fputs("\\x", stdout);
	for (i = 0; i < len; i++)
		printf("%02x", v[i]);
}

static void
print_result(const PGresult *r)
{
	const char *state, *msg;
	int row, col;

	switch (PQresultStatus(r)) {
	case PGRES_TUPLES_OK:
	case PGRES_SINGLE_TUPLE:
		for (row = 0; row < PQntuples(r); row++) {
			fputs("row: ", stdout);
			for (col = 0; col < PQnfields(r); col++) {
				if (col > 0)
					putchar('|');
				print_value(r, row, col);
			}
			putchar('\n');
		}
		printf("ok: %s\n", PQcmdStatus((PGresult *)r));
		break;
	case PGRES_COMMAND_OK:
		/* PQprepare's result has no tag. */
		state = PQcmdStatus((PGresult *)r);
		printf("ok%s%s\n", state[0] ? ": " : "", state);
		break;
	case PGRES_PIPELINE_ABORTED:
		puts("aborted");
		break;
	case PGRES_PIPELINE_SYNC:
		puts("synced");
		break;
	default:
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		printf("error: %s %s\n", state != NULL ? state : "-",
		    msg != NULL ? msg : PQresultErrorMessage(r));
		break;
	}
	fflush(stdout);
}

/* Every result of one query sent in pipeline mode or not. */
static void
drain(PGconn *conn)
{
	PGresult *r;

	while ((r = PQgetResult(conn)) != NULL) {
		print_result(r);
		PQclear(r);
	}
}

static void
run(PGconn *conn, PGresult *r)
{
	if (r == NULL) {
		printf("error: - %s", PQerrorMessage(conn));
		return;
	}
	print_result(r);
	PQclear(r);
}

int
main(int argc, char **argv)
{
	char line[MAX_LINE], *sql, *name, *fmt, *values[MAX_VALUES], *sp;
	int in_pipeline = 0, n, queries = 0, i;
	PGconn *conn;
	FILE *f;

	if (argc != 2 || (f = fopen(argv[1], "r")) == NULL) {
		fprintf(stderr, "usage: pgwrap-pq FILE\n");
		return 2;
	}
	conn = PQconnectdb("");
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "pgwrap-pq: %s", PQerrorMessage(conn));
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((sql = strchr(line, ' ')) != NULL)
			*sql++ = '\0';
		if ((strcmp(line, "text") == 0 || strcmp(line, "binary") == 0) &&
		    sql != NULL) {
			if (!in_pipeline) {
				run(conn, PQexecParams(conn, sql, 0, NULL, NULL,
				    NULL, NULL, line[0] == 'b'));
				continue;
			}
			if (!PQsendQueryParams(conn, sql, 0, NULL, NULL, NULL,
			    NULL, line[0] == 'b'))
				printf("error: - %s", PQerrorMessage(conn));
			queries++;
		} else if (strcmp(line, "prepare") == 0 && sql != NULL &&
		    (sp = strchr(sql, ' ')) != NULL) {
			*sp = '\0';
			run(conn, PQprepare(conn, sql, sp + 1, 0, NULL));
		} else if (strcmp(line, "exec") == 0 && sql != NULL) {
			name = strtok(sql, " ");
			fmt = strtok(NULL, " ");
			for (n = 0; n < MAX_VALUES &&
			    (values[n] = strtok(NULL, " ")) != NULL; n++)
				;
			if (name == NULL || fmt == NULL)
				return 2;
			run(conn, PQexecPrepared(conn, name, n,
			    (const char *const *)values, NULL, NULL,
			    strcmp(fmt, "binary") == 0));
		} else if (strcmp(line, "pipeline") == 0) {
			if (!PQenterPipelineMode(conn))
				return 2;
			in_pipeline = 1;
			queries = 0;
		} else if (strcmp(line, "sync") == 0 && in_pipeline) {
			if (!PQpipelineSync(conn))
				return 2;
			/* Each query's results end with a NULL; the sync's
			 * result ends the batch. */
			for (i = 0; i < queries; i++)
				drain(conn);
			run(conn, PQgetResult(conn));
			if (!PQexitPipelineMode(conn))
				printf("error: - %s", PQerrorMessage(conn));
			in_pipeline = 0;
		} else {
			fprintf(stderr, "pgwrap-pq: bad step: %s\n", line);
			return 2;
		}
	}
	fclose(f);
	PQfinish(conn);
	return 0;
}
