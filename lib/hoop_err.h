/* One error space for everything in lib/. */
#ifndef HOOP_ERR_H
#define HOOP_ERR_H

typedef enum hoop_err {
	HOOP_OK = 0,
	HOOP_ERR_NOMEM,
	HOOP_ERR_INVAL,
	HOOP_ERR_IO,
	HOOP_ERR_TOOBIG,
	HOOP_ERR_PERM,
	HOOP_ERR_NOTFOUND,
	HOOP_ERR_CONFIG,
	HOOP_ERR_STORE,
	HOOP_ERR_STORE_BUSY,
	HOOP_ERR_STORE_TOO_NEW,
	HOOP_ERR_STORE_OLD,
	HOOP_ERR_CRYPTO,
	HOOP_ERR_AUDIT_CHAIN,
	HOOP_ERR_DENIED,
	HOOP_ERR_UID_TAKEN,
	HOOP_ERR__COUNT
} hoop_err_t;

const char *hoop_strerror(hoop_err_t err);

#endif
