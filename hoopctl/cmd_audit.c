#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hoop_audit.h"
#include "hoop_util.h"
#include "hoopctl.h"

static int
audit_list(struct hoopctl *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "principal", required_argument, NULL, 'p' },
		{ "session", required_argument, NULL, 'S' },
		{ "target", required_argument, NULL, 't' },
		{ "decision", required_argument, NULL, 'd' },
		{ "kind", required_argument, NULL, 'k' },
		{ "since", required_argument, NULL, 'a' },
		{ "until", required_argument, NULL, 'b' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct hoop_audit_filter f = { 0 };
	enum hoop_audit_format format = HOOP_AUDIT_TEXT;
	hoop_err_t err;
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': f.principal = optarg; break;
		case 'S': f.session_id = optarg; break;
		case 't': f.target = optarg; break;
		case 'd': f.decision = optarg; break;
		case 'k': f.kind = optarg; break;
		case 'j': format = HOOP_AUDIT_JSON_LINES; break;
		case 'a':
		case 'b':
			if (hoopctl_parse_when(optarg, ch == 'a' ? &f.since_us :
			    &f.until_us) == -1) {
				fprintf(stderr, "hoopctl: bad time '%s' (use "
				    "YYYY-MM-DD[THH:MM:SSZ], @EPOCH or a "
				    "duration such as 2h)\n", optarg);
				return 2;
			}
			break;
		case 'n':
			errno = 0;
			f.limit = strtoll(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || f.limit <= 0) {
				fprintf(stderr, "hoopctl: bad limit '%s'\n",
				    optarg);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "hoopctl: audit list: unexpected '%s'\n",
		    argv[optind]);
		return 2;
	}
	if (hoopctl_store(ctx, HOOP_STORE_READONLY))
		return 1;
	if ((err = hoop_audit_list(ctx->store, &f, format, stdout))) {
		fprintf(stderr, "hoopctl: audit list: %s\n",
		    hoop_strerror(err));
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
parse_anchor(const char *text, int64_t *seq, char *hash)
{
	const char *colon = strchr(text, ':');
	char *end;

	if (colon == NULL || strlen(colon + 1) != HOOP_AUDIT_HASH_HEX)
		return -1;
	errno = 0;
	*seq = strtoll(text, &end, 10);
	if (errno != 0 || end != colon || *seq <= 0)
		return -1;
	memcpy(hash, colon + 1, HOOP_AUDIT_HASH_HEX + 1);
	return 0;
}

static int
audit_verify(struct hoopctl *ctx, int argc, char **argv, int head_only)
{
	static const struct option opts[] = {
		{ "anchor", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct hoop_audit_verify_result res;
	char anchor_hash[HOOP_AUDIT_HASH_HEX + 1] = "";
	int64_t anchor_seq = 0;
	hoop_err_t err;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'a' || head_only ||
		    parse_anchor(optarg, &anchor_seq, anchor_hash) == -1) {
			fprintf(stderr, "usage: hoopctl audit verify "
			    "[--anchor SEQ:HASH] | audit head\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "hoopctl: unexpected '%s'\n", argv[optind]);
		return 2;
	}
	if (hoopctl_store(ctx, HOOP_STORE_READONLY))
		return 1;
	err = hoop_audit_verify(ctx->store, anchor_seq, anchor_hash, &res);
	if (err == HOOP_ERR_AUDIT_CHAIN) {
		printf("audit chain BROKEN at event %" PRId64 ": %s\n",
		    res.broken_seq, res.problem);
		return 1;
	}
	if (err != HOOP_OK) {
		fprintf(stderr, "hoopctl: audit verify: %s\n",
		    hoop_strerror(err));
		return 1;
	}
	if (head_only)
		printf("%" PRId64 ":%s\n", res.head_seq, res.head_hash);
	else
		printf("audit chain intact: %" PRId64 " events, head %" PRId64
		    ":%s\n", res.events, res.head_seq, res.head_hash);
	return 0;
}

int
cmd_audit(struct hoopctl *ctx, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: hoopctl audit list|verify|head ...\n");
		return 2;
	}
	if (hoopctl_require_admin(ctx, "audit"))
		return 1;
	if (strcmp(argv[1], "list") == 0)
		return audit_list(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return audit_verify(ctx, argc - 1, argv + 1, 0);
	if (strcmp(argv[1], "head") == 0)
		return audit_verify(ctx, argc - 1, argv + 1, 1);
	fprintf(stderr, "hoopctl: unknown audit command '%s'\n", argv[1]);
	return 2;
}
