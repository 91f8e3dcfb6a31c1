/* Stub main for fuzz targets: replays corpus files (or directories of
 * them) through LLVMFuzzerTestOneInput and reports each as a TAP line, so
 * `make check` runs every target without libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hoop_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (4 * 1024 * 1024)

static int count, failed;

static void
replay(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	hoop_err_t err;

	count++;
	err = hoop_read_file(path, REPLAY_MAX_INPUT, &buf, &len);
	if (err != HOOP_OK) {
		failed++;
		printf("not ok %d - %s: %s\n", count, path, hoop_strerror(err));
		return;
	}
	/* A crash or sanitizer report aborts the run: that is the failure. */
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	free(buf);
	printf("ok %d - %s\n", count, path);
	fflush(stdout);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int
main(int argc, char **argv)
{
	struct dirent **names;
	struct stat st;
	char path[4096];
	int i, n, j;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			n = scandir(argv[i], &names, NULL, by_name);
			for (j = 0; j < n; j++) {
				if (names[j]->d_name[0] != '.') {
					snprintf(path, sizeof(path), "%s/%s",
					    argv[i], names[j]->d_name);
					replay(path);
				}
				free(names[j]);
			}
			if (n >= 0)
				free(names);
		} else
			replay(argv[i]);
	}
	printf("1..%d\n", count);
	return failed != 0;
}
