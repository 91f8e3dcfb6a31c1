/* hoop.conf parser and checks on arbitrary input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Messages are formatted for real: they must name the file and carry no
 * control characters from the input. */
static void
check_message(void *arg, const char *message)
{
	const char *p;

	(*(size_t *)arg)++;
	if (strncmp(message, "fuzz:", 5) != 0)
		abort();
	for (p = message; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct hoop_policy *p;
	hoop_config_t *cfg = NULL;
	size_t i, j, messages = 0;
	hoop_err_t err;
	char *copy;

	/* Exactly size bytes, no NUL after them, so that a read past the
	 * end is caught: hoop_config_load_buf must stop at len. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	err = hoop_config_load_buf(copy, size, "fuzz",
	    HOOP_CONFIG_NO_FS_CHECKS, &cfg, check_message, &messages);
	if ((err == HOOP_OK) != (cfg != NULL) ||
	    (err == HOOP_OK && messages > 0) ||
	    (err == HOOP_ERR_CONFIG && messages == 0))
		abort();
	/* What loaded must hang together. */
	for (i = 0; cfg != NULL && i < hoop_config_policy_count(cfg); i++) {
		p = hoop_config_policy_at(cfg, i);
		for (j = 0; j < p->n_identities; j++) {
			if (p->identities[j] == NULL ||
			    p->identities[j]->issuer == NULL)
				abort();
		}
		for (j = 0; j < p->n_targets; j++) {
			if (p->targets[j] == NULL)
				abort();
		}
	}
	hoop_config_free(cfg);
	free(copy);
	return 0;
}
