/* Utilities: durations, bounded file reads, atomic writes, errors. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hoop_util.h"
#include "tap.h"

static void
test_durations(void)
{
	static const struct { const char *text; long seconds; } good[] = {
		{ "0", 0 }, { "90", 90 }, { "90s", 90 }, { "15m", 900 },
		{ "1h30m", 5400 }, { "2d", 172800 }, { "1d2h3m4s", 93784 },
	};
	static const char *const bad[] = { "", "10x", "1h1", "h", "-5",
	    "1.5h", " 1h", "1h ", "99999999999999999999", "9223372036854775807d",
	    "1hm" };
	long s;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(hoop_parse_duration(good[i].text, &s) == 0 &&
		    s == good[i].seconds, "duration '%s' = %ld", good[i].text,
		    good[i].seconds);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(hoop_parse_duration(bad[i], &s) == -1,
		    "duration '%s' refused", bad[i]);
	ok(hoop_parse_duration(NULL, &s) == -1, "NULL duration refused");
}

static void
test_files(void)
{
	char dir[] = "/tmp/hoop-test-util.XXXXXX", path[256], link[256];
	char cmd[300], *buf = NULL;
	size_t len = 0;
	struct stat st;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/f", dir);
	is_int(hoop_read_file(path, 100, &buf, &len), HOOP_ERR_NOTFOUND,
	    "missing file: not found");
	is_int(hoop_write_file_atomic(path, "hello", 5, 0644), HOOP_OK,
	    "atomic write");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644,
	    "atomic write sets the mode");
	ok(hoop_read_file(path, 100, &buf, &len) == HOOP_OK && len == 5 &&
	    strcmp(buf, "hello") == 0, "read back, NUL-terminated");
	free(buf);
	buf = NULL;
	is_int(hoop_read_file(path, 4, &buf, &len), HOOP_ERR_TOOBIG,
	    "a file over the limit is refused");
	ok(buf == NULL, "and nothing is returned");
	ok(hoop_read_file(path, 5, &buf, &len) == HOOP_OK && len == 5,
	    "a file at the limit is read");
	free(buf);
	buf = NULL;
	snprintf(link, sizeof(link), "%s/l", dir);
	ok(symlink(path, link) == 0, "symlink");
	is_int(hoop_read_file(link, 100, &buf, &len), HOOP_ERR_INVAL,
	    "a symlink is not followed");
	is_int(hoop_read_file(dir, 100, &buf, &len), HOOP_ERR_INVAL,
	    "a directory is refused");
	is_int(hoop_write_file_atomic(path, "replaced", 8, 0600), HOOP_OK,
	    "atomic replace");
	ok(hoop_read_file(path, 100, &buf, &len) == HOOP_OK &&
	    strcmp(buf, "replaced") == 0, "replace is visible");
	free(buf);
	snprintf(cmd, sizeof(cmd), "ls %s | wc -l | grep -qx 2", dir);
	ok(system(cmd) == 0, "no temporary file is left behind");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

static void
test_misc(void)
{
	unsigned char raw[] = { 0x00, 0x7f, 0xab, 0xff };
	char hex[9];
	int fd, i, open_after = 0;

	hoop_hex_encode(raw, sizeof(raw), hex);
	ok(strcmp(hex, "007fabff") == 0, "hex encode");
	ok(strcmp(hoop_strerror(HOOP_OK), "success") == 0, "strerror ok");
	ok(strcmp(hoop_strerror((hoop_err_t)9999), "unknown error") == 0,
	    "strerror of an out-of-range code");
	for (i = 1; i < HOOP_ERR__COUNT; i++)
		if (strcmp(hoop_strerror((hoop_err_t)i), "unknown error") == 0)
			break;
	is_int(i, HOOP_ERR__COUNT, "every error code has a message");
	fd = open("/dev/null", O_RDONLY);
	dup2(fd, 40);
	hoop_closefrom(3);
	for (i = 3; i < 64; i++)
		if (fcntl(i, F_GETFD) != -1)
			open_after++;
	is_int(open_after, 0, "closefrom closes every descriptor above 2");
	ok(fcntl(1, F_GETFD) != -1, "and leaves stdout alone");
}

static void
test_list_has(void)
{
	ok(hoop_list_has("a,bc,d", "bc", 2), "list: middle item");
	ok(hoop_list_has("a,bc,d", "a", 1), "list: first item");
	ok(hoop_list_has("a,bc,d", "d", 1), "list: last item");
	ok(!hoop_list_has("a,bc,d", "b", 1), "list: a prefix is not an item");
	ok(!hoop_list_has("a,bc,d", "bcd", 3), "list: nor a longer name");
	ok(hoop_list_has("a,bcx", "bcx", 2) == 0, "list: n bytes must end an item");
	ok(!hoop_list_has("", "a", 1), "list: empty list");
	ok(!hoop_list_has(NULL, "a", 1), "list: NULL list");
}

static void
test_sizes(void)
{
	static const struct { const char *text; unsigned long long bytes; }
	    good[] = {
		{ "0", 0 }, { "512", 512 }, { "64K", 65536 }, { "64k", 65536 },
		{ "1M", 1048576 }, { "1G", 1073741824ULL },
		{ "2T", 2ULL << 40 }, { "18446744073709551615", ~0ULL },
	};
	static const char *const bad[] = { "", "K", "-1", "1.5G", "1MB",
	    "1 M", "16777216T", "18446744073709551616", "1m", " 1" };
	unsigned long long b;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(hoop_parse_size(good[i].text, &b) == 0 &&
		    b == good[i].bytes, "size \"%s\"", good[i].text);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(hoop_parse_size(bad[i], &b) == -1, "size \"%s\" refused",
		    bad[i]);
	ok(hoop_parse_size(NULL, &b) == -1, "NULL size refused");
}

static void
test_env(void)
{
	static const char *const keep[] = { "HOOP_TEST_KEPT", "HOOP_TEST_UNSET" };
	struct hoop_env e = { .n = 0 };
	char big[5000];
	int i, full = 0;

	setenv("HOOP_TEST_KEPT", "yes", 1);
	unsetenv("HOOP_TEST_UNSET");
	hoop_env_keep(&e, keep, 2);
	ok(e.n == 1 && strcmp(e.v[0], "HOOP_TEST_KEPT=yes") == 0 &&
	    e.v[1] == NULL, "keep copies what is set, nothing else");
	ok(hoop_env_add(&e, "X", "a\nPATH=/tmp") == -1 && e.n == 1,
	    "a value with a newline is refused");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ok(hoop_env_add(&e, "X", big) == -1 && hoop_env_add(&e, "X", NULL) ==
	    -1 && e.n == 1, "an oversized or missing value is refused");
	for (i = 0; i < HOOP_ENV_MAX + 5; i++)
		full |= hoop_env_add(&e, "N", "v") == -1;
	ok(full && e.n == HOOP_ENV_MAX && e.v[HOOP_ENV_MAX] == NULL,
	    "the set stops at its size, still terminated");
	hoop_env_free(&e);
	ok(e.n == 0 && e.v[0] == NULL, "freed");
}

int
main(void)
{
	test_list_has();
	test_durations();
	test_sizes();
	test_files();
	test_misc();
	test_env();
	return done_testing();
}
