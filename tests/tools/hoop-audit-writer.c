/* Test and demo tool: appends audit events the way components do.
 * usage: hoop-audit-writer STORE COUNT KIND DECISION PRINCIPAL [TARGET] */
#include <stdio.h>
#include <stdlib.h>

#include "hoop_audit.h"
#include "hoop_log.h"

int
main(int argc, char **argv)
{
	struct hoop_audit_event ev = { 0 };
	hoop_store_t *store = NULL;
	char action[64];
	hoop_err_t err;
	long i, count;

	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: %s STORE COUNT KIND DECISION PRINCIPAL "
		    "[TARGET]\n", argv[0]);
		return 2;
	}
	/* Syslog as the components do it: auth events go to authpriv. */
	hoop_log_init("hoop-audit-writer", LOG_USER, HOOP_LOG_STDERR);
	count = strtol(argv[2], NULL, 10);
	ev.kind = argv[3];
	ev.decision = argv[4];
	ev.principal = argv[5];
	ev.target = argc == 7 ? argv[6] : NULL;
	ev.action = action;
	if ((err = hoop_store_open(argv[1], 0, &store)) != HOOP_OK) {
		fprintf(stderr, "store: %s\n", hoop_strerror(err));
		return 1;
	}
	for (i = 0; i < count; i++) {
		snprintf(action, sizeof(action), "%s #%ld", ev.kind, i + 1);
		if ((err = hoop_audit_append(store, &ev, NULL)) != HOOP_OK) {
			fprintf(stderr, "append: %s\n", hoop_strerror(err));
			hoop_store_close(store);
			return 1;
		}
	}
	hoop_store_close(store);
	return 0;
}
