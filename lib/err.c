#include <stddef.h>

#include "hoop_err.h"

static const char *const messages[HOOP_ERR__COUNT] = {
	[HOOP_OK] = "success",
	[HOOP_ERR_NOMEM] = "out of memory",
	[HOOP_ERR_INVAL] = "invalid argument or input",
	[HOOP_ERR_IO] = "input/output error",
	[HOOP_ERR_TOOBIG] = "input exceeds size limit",
	[HOOP_ERR_PERM] = "permission denied",
	[HOOP_ERR_NOTFOUND] = "not found",
	[HOOP_ERR_CONFIG] = "invalid configuration",
	[HOOP_ERR_STORE] = "state store error",
	[HOOP_ERR_STORE_BUSY] = "state store busy",
	[HOOP_ERR_STORE_TOO_NEW] = "state store schema is newer than this program",
	[HOOP_ERR_STORE_OLD] = "state store schema needs migration (hoopctl db migrate)",
	[HOOP_ERR_CRYPTO] = "cryptographic operation failed",
	[HOOP_ERR_AUDIT_CHAIN] = "audit chain broken",
	[HOOP_ERR_DENIED] = "denied by policy",
	[HOOP_ERR_UID_TAKEN] = "uid already leased to another login",
	[HOOP_ERR_EXISTS] = "already exists",
	[HOOP_ERR_NOSPACE] = "no space left (disk full, quota or file size limit)",
	[HOOP_ERR_REC_LIMIT] = "recording size limit reached",
	[HOOP_ERR_REC_BROKEN] = "recording seal broken",
	[HOOP_ERR_REC_FORMAT] = "malformed recording",
	[HOOP_ERR_REC_TRUNCATED] = "recording ends inside a frame",
};

const char *
hoop_strerror(hoop_err_t err)
{
	if ((unsigned)err >= HOOP_ERR__COUNT || messages[err] == NULL)
		return "unknown error";
	return messages[err];
}
