/*
 * TLS at both ends. kubectl's end: kubectl sends a bearer token only over
 * TLS, so the proxy serves it with an ephemeral key and a self-signed
 * certificate for 127.0.0.1, made at start and given to kubectl in its
 * kubeconfig (certificate-authority-data). The API server's end: the server's
 * certificate verified against the target's ca_file (or the system's
 * roots without one) for the host or IP address of its URL. Sockets are
 * non-blocking; blocking reads and writes wait in poll(), so that a
 * relayed upgrade can wait on both ends at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "hoop_util.h"
#include "kubewrap.h"

#define CONNECT_TIMEOUT_MS 10000

/* https://HOST[:PORT][/] into host, port and the Host header. */
static int
parse_server(struct kubewrap *kw, const char *url, char *why, size_t whylen)
{
	const char *p, *end, *colon;
	unsigned char addr[16];
	size_t hl;

	if (strncmp(url, "https://", 8) != 0) {
		hoop_why(why, whylen, "the server is not an https:// URL");
		return -1;
	}
	p = url + 8;
	end = p + strcspn(p, "/");
	if (*end == '/' && end[1] != '\0') {
		hoop_why(why, whylen, "a server URL with a path is not "
		    "supported");
		return -1;
	}
	if (*p == '[') {
		colon = memchr(p, ']', (size_t)(end - p));
		if (colon == NULL)
			goto bad;
		hl = (size_t)(colon - p - 1);
		p++;
		colon++;
		if (colon != end && *colon != ':')
			goto bad;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		hl = (size_t)((colon != NULL ? colon : end) - p);
	}
	if (hl == 0 || hl >= sizeof(kw->host))
		goto bad;
	memcpy(kw->host, p, hl);
	kw->host[hl] = '\0';
	if (colon != NULL && colon != end && *colon == ':') {
		size_t pl = (size_t)(end - colon - 1);

		if (pl == 0 || pl >= sizeof(kw->port) ||
		    strspn(colon + 1, "0123456789") < pl)
			goto bad;
		memcpy(kw->port, colon + 1, pl);
		kw->port[pl] = '\0';
	} else {
		snprintf(kw->port, sizeof(kw->port), "443");
	}
	kw->host_is_ip = inet_pton(AF_INET, kw->host, addr) == 1 ||
	    inet_pton(AF_INET6, kw->host, addr) == 1;
	snprintf(kw->host_header, sizeof(kw->host_header), "%s%s%s:%s",
	    strchr(kw->host, ':') ? "[" : "", kw->host,
	    strchr(kw->host, ':') ? "]" : "", kw->port);
	return 0;
bad:
	hoop_why(why, whylen, "the server URL is malformed");
	return -1;
}

int
kubewrap_upstream_setup(struct kubewrap *kw, char *why, size_t whylen)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_CTX *ctx = NULL;
	int r = -1;

	if (parse_server(kw, kw->target->server, why, whylen) == -1)
		goto out;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
		hoop_why(why, whylen, "cannot set up TLS");
		goto out;
	}
	if ((kw->target->ca_file != NULL ? SSL_CTX_load_verify_locations(ctx,
	    kw->target->ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx))
	    != 1) {
		hoop_why(why, whylen, "cannot read the CA certificates of the "
		    "target");
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	    SSL_MODE_AUTO_RETRY);
	kw->ssl_ctx = ctx;
	ctx = NULL;
	r = 0;
out:
	SSL_CTX_free(ctx);
	return r;
}

static int
wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n == -1 && errno == EINTR);
	return n > 0 ? 0 : -1;
}

static int
tcp_connect(struct kubewrap *kw, char *why, size_t whylen)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	int fd = -1, err = 0;
	socklen_t el = sizeof(err);

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(kw->host, kw->port, &hints, &res) != 0) {
		hoop_why(why, whylen, "cannot resolve the API server");
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1)
			continue;
		if ((connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && wait_fd(fd, POLLOUT,
		    CONNECT_TIMEOUT_MS) == 0 && getsockopt(fd, SOL_SOCKET,
		    SO_ERROR, &err, &el) == 0 && err == 0)))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		hoop_why(why, whylen, "cannot connect to the API server");
	return fd;
}

int
upstream_connect(struct kubewrap *kw, struct tls_end *u, char *why,
    size_t whylen)
{
	X509_VERIFY_PARAM *vp;
	int r, e, one = 1;

	u->ssl = NULL;
	if ((u->fd = tcp_connect(kw, why, whylen)) == -1)
		return -1;
	(void)setsockopt(u->fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one));
	if ((u->ssl = SSL_new(kw->ssl_ctx)) == NULL ||
	    SSL_set_fd(u->ssl, u->fd) != 1 ||
	    (vp = SSL_get0_param(u->ssl)) == NULL ||
	    (kw->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, kw->host) :
	    (SSL_set_tlsext_host_name(u->ssl, kw->host) &&
	    X509_VERIFY_PARAM_set1_host(vp, kw->host, 0))) != 1) {
		hoop_why(why, whylen, "cannot set up TLS");
		goto fail;
	}
	for (;;) {
		ERR_clear_error();
		if ((r = SSL_connect(u->ssl)) == 1)
			break;
		e = SSL_get_error(u->ssl, r);
		if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
		    wait_fd(u->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		    CONNECT_TIMEOUT_MS) == 0)
			continue;
		hoop_why(why, whylen, SSL_get_verify_result(u->ssl) !=
		    X509_V_OK ? "the API server's certificate is not trusted "
		    "(%s)" : "TLS handshake with the API server failed%s",
		    SSL_get_verify_result(u->ssl) != X509_V_OK ?
		    X509_verify_cert_error_string(SSL_get_verify_result(
		    u->ssl)) : "");
		goto fail;
	}
	return 0;
fail:
	tls_close(u);
	return -1;
}

void
tls_close(struct tls_end *u)
{
	if (u->ssl != NULL) {
		(void)SSL_shutdown(u->ssl);
		SSL_free(u->ssl);
		u->ssl = NULL;
	}
	if (u->fd != -1)
		close(u->fd);
	u->fd = -1;
}

ssize_t
tls_read(struct tls_end *u, void *buf, size_t n, int timeout_ms)
{
	int r, e;

	for (;;) {
		ERR_clear_error();
		r = SSL_read(u->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
		if (r > 0)
			return r;
		e = SSL_get_error(u->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -1;
		if (timeout_ms == 0 || wait_fd(u->fd, e == SSL_ERROR_WANT_READ ?
		    POLLIN : POLLOUT, timeout_ms) == -1)
			return timeout_ms == -1 ? -1 : -2;
	}
}

int
tls_write_all(struct tls_end *u, const void *buf, size_t n)
{
	const char *p = buf;
	int r, e;

	while (n > 0) {
		ERR_clear_error();
		r = SSL_write(u->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		e = SSL_get_error(u->ssl, r);
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    wait_fd(u->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		    -1) == -1)
			return -1;
	}
	return 0;
}

/* ---- kubectl's end: an ephemeral certificate of hoop's own ---- */

static int
add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int r;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	r = X509_add_ext(cert, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return r;
}

int
kubewrap_server_tls(struct kubewrap *kw, char *why, size_t whylen)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	X509_NAME *name;
	SSL_CTX *ctx = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int r = -1;

	if ((key = EVP_EC_gen("P-256")) == NULL || (cert = X509_new()) ==
	    NULL || X509_set_version(cert, 2) != 1 ||
	    RAND_bytes(serial, sizeof(serial)) != 1 ||
	    (serial[0] &= 0x7f, (bn = BN_bin2bn(serial, sizeof(serial),
	    NULL)) == NULL) ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -300) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 86400L) == NULL ||
	    X509_set_pubkey(cert, key) != 1 ||
	    (name = X509_get_subject_name(cert)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"hoop-kubewrap", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(cert, name) != 1 ||
	    add_ext(cert, NID_basic_constraints, "critical,CA:TRUE") == -1 ||
	    add_ext(cert, NID_key_usage, "critical,digitalSignature,"
	    "keyCertSign") == -1 ||
	    add_ext(cert, NID_ext_key_usage, "serverAuth") == -1 ||
	    add_ext(cert, NID_subject_alt_name, "IP:127.0.0.1") == -1 ||
	    X509_sign(cert, key, EVP_sha256()) == 0) {
		hoop_why(why, whylen, "cannot make a certificate for the proxy");
		goto out;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, cert) != 1 ||
	    BIO_get_mem_ptr(bio, &mem) != 1 ||
	    (kw->cert_pem = strndup(mem->data, mem->length)) == NULL) {
		hoop_why(why, whylen, "cannot set up TLS for the proxy");
		goto out;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	    SSL_MODE_AUTO_RETRY);
	kw->server_ctx = ctx;
	ctx = NULL;
	r = 0;
out:
	BIO_free(bio);
	BN_free(bn);
	SSL_CTX_free(ctx);
	X509_free(cert);
	EVP_PKEY_free(key);
	return r;
}

int
tls_accept(struct kubewrap *kw, int fd, struct tls_end *c)
{
	int r, e, fl;

	c->fd = fd;
	c->ssl = NULL;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    (c->ssl = SSL_new(kw->server_ctx)) == NULL ||
	    SSL_set_fd(c->ssl, fd) != 1)
		return -1;
	for (;;) {
		ERR_clear_error();
		if ((r = SSL_accept(c->ssl)) == 1)
			return 0;
		e = SSL_get_error(c->ssl, r);
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		    CONNECT_TIMEOUT_MS) == -1)
			return -1;
	}
}
