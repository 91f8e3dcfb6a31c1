/* The connection: host key verification, then keyboard-interactive with
 * the token. Nothing secret crosses the wire until the host key checks
 * out; there is no trust on first use. */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hoop_tokenread.h"
#include "hoopssh.h"

void
hoopssh_err(const char *fmt, ...)
{
	va_list ap;

	fputs("hoop-ssh: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Writes len bytes of server-chosen text, control characters escaped. */
static void
put_clean(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\t' || (p[i] >= 0x20 && p[i] != 0x7f))
			fputc(p[i], stderr);
		else if (p[i] != '\r')
			fprintf(stderr, "\\x%02x", p[i]);
	}
}

static void
put_line(const char *label, const char *line, size_t len)
{
	fprintf(stderr, "hoop-ssh: %s: ", label);
	put_clean(line, len);
	fputc('\n', stderr);
}

void
hoopssh_print_remote_text(const char *label, const char *text)
{
	const char *line, *nl;

	if (text == NULL)
		return;
	for (line = text; *line != '\0'; line = nl != NULL ? nl + 1 : "") {
		nl = strchr(line, '\n');
		put_line(label, line, nl != NULL ? (size_t)(nl - line) :
		    strlen(line));
	}
}

/* "SHA256:<base64>" as ssh-keygen -l prints it, and its key type. */
static int
server_fingerprint(ssh_session s, char **fp, const char **type)
{
	ssh_key key = NULL;
	unsigned char *hash = NULL;
	size_t hlen = 0;
	int ret = -1;

	if (ssh_get_server_publickey(s, &key) != SSH_OK ||
	    ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
	    &hlen) != 0 ||
	    (*fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash,
	    hlen)) == NULL)
		goto out;
	*type = ssh_key_type_to_char(ssh_key_type(key));
	if (*type == NULL)
		*type = "unknown";
	ret = 0;
out:
	ssh_clean_pubkey_hash(&hash);
	ssh_key_free(key);
	return ret;
}

/* Compares without base64 padding, which ssh-keygen leaves out. */
static int
fingerprint_eq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	while (alen > 0 && a[alen - 1] == '=')
		alen--;
	while (blen > 0 && b[blen - 1] == '=')
		blen--;
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* The pin is a comma-separated list, so a key can be rotated by pinning
 * the old and the new one for a while. */
static int
pin_matches(const char *pin, const char *fp)
{
	const char *p = pin, *end;
	size_t len;

	while (*p != '\0') {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		while (len > 0 && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (len > 7 && strncmp(p, "SHA256:", 7) == 0 &&
		    fingerprint_eq(p, len, fp))
			return 1;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}

static void
pin_hint(const char *type, const char *fp)
{
	fprintf(stderr, "hoop-ssh: the server presented a %s key with "
	    "fingerprint\nhoop-ssh:     %s\nhoop-ssh: after checking it with "
	    "the bastion's admins (ssh-keygen -lf on the host key), pin it "
	    "with\nhoop-ssh:     --host-key-sha256 %s  (or HOOP_SSH_HOST_KEY)"
	    "\nhoop-ssh: or add it to the known_hosts file\n", type, fp, fp);
}

static int
verify_host(ssh_session s, const struct hoopssh_opts *o,
    const char *known_hosts)
{
	enum ssh_known_hosts_e state;
	const char *type = NULL;
	char *fp = NULL, name[300];
	int ret = -1;

	if (server_fingerprint(s, &fp, &type) == -1) {
		hoopssh_err("cannot read the server's host key: %s",
		    ssh_get_error(s));
		goto out;
	}
	if (o->port == 22)
		snprintf(name, sizeof(name), "%s", o->host);
	else
		snprintf(name, sizeof(name), "[%s]:%u", o->host, o->port);
	if (o->pin != NULL) {
		if (!pin_matches(o->pin, fp)) {
			hoopssh_err("HOST KEY MISMATCH for %s: the server "
			    "presented %s %s, which is not the pinned key; "
			    "refusing to log in (someone may be intercepting "
			    "the connection, or the host key was changed)",
			    name, type, fp);
			goto out;
		}
		if (o->verbose)
			hoopssh_err("host key %s %s matches the pin", type, fp);
		ret = 0;
		goto out;
	}
	state = ssh_session_is_known_server(s);
	switch (state) {
	case SSH_KNOWN_HOSTS_OK:
		if (o->verbose)
			hoopssh_err("host key %s %s found in %s", type, fp,
			    known_hosts);
		ret = 0;
		break;
	case SSH_KNOWN_HOSTS_CHANGED:
		hoopssh_err("HOST KEY MISMATCH for %s: %s holds another %s "
		    "key; the server presented %s; refusing to log in "
		    "(someone may be intercepting the connection, or the "
		    "host key was changed)", name, known_hosts, type, fp);
		break;
	case SSH_KNOWN_HOSTS_OTHER:
		hoopssh_err("HOST KEY MISMATCH for %s: %s holds a key of "
		    "another type; the server presented %s %s; refusing to "
		    "log in", name, known_hosts, type, fp);
		break;
	case SSH_KNOWN_HOSTS_UNKNOWN:
	case SSH_KNOWN_HOSTS_NOT_FOUND:
		hoopssh_err("host %s is not known (%s %s); refusing to log "
		    "in without a verified host key", name, known_hosts,
		    access(known_hosts, F_OK) == -1 ? "does not exist" :
		    "has no entry for it");
		pin_hint(type, fp);
		break;
	case SSH_KNOWN_HOSTS_ERROR:
	default:
		hoopssh_err("cannot check the host key against %s: %s",
		    known_hosts, ssh_get_error(s));
		break;
	}
out:
	ssh_string_free_char(fp);
	return ret;
}

int
hoopssh_connect(const struct hoopssh_opts *o, ssh_session *out)
{
	ssh_session s = NULL;
	const char *home;
	char known[4096];
	bool no_config = false;
	unsigned port = o->port;
	long timeout = o->connect_timeout;
	int ret = -1;

	if (o->known_hosts != NULL)
		snprintf(known, sizeof(known), "%s", o->known_hosts);
	else if ((home = getenv("HOME")) != NULL && *home != '\0')
		snprintf(known, sizeof(known), "%s/.ssh/known_hosts", home);
	else
		snprintf(known, sizeof(known), "/nonexistent/known_hosts");
	if ((s = ssh_new()) == NULL) {
		hoopssh_err("out of memory");
		goto out;
	}
	/* Only what the command line says: a CI job's ~/.ssh/config must
	 * not quietly change where the token goes. */
	if (ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no_config) != 0 ||
	    ssh_options_set(s, SSH_OPTIONS_HOST, o->host) != 0 ||
	    ssh_options_set(s, SSH_OPTIONS_PORT, &port) != 0 ||
	    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout) != 0 ||
	    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, known) != 0 ||
	    (o->user != NULL &&
	    ssh_options_set(s, SSH_OPTIONS_USER, o->user) != 0)) {
		hoopssh_err("bad connection options: %s", ssh_get_error(s));
		goto out;
	}
	if (o->verbose)
		hoopssh_err("connecting to %s port %u", o->host, o->port);
	if (ssh_connect(s) != SSH_OK) {
		hoopssh_err("cannot connect to %s port %u: %s", o->host,
		    o->port, ssh_get_error(s));
		goto out;
	}
	if (verify_host(s, o, known) == -1)
		goto out;
	*out = s;
	s = NULL;
	ret = 0;
out:
	if (s != NULL) {
		ssh_disconnect(s);
		ssh_free(s);
	}
	return ret;
}

/* The part number pam_hoop asks for, or 0 for another prompt. */
static unsigned
token_prompt_part(const char *prompt)
{
	unsigned n;
	int used = -1;

	if (sscanf(prompt, "OIDC token (part %u): %n", &n, &used) != 1 ||
	    used < 0 || prompt[used] != '\0' || n > HOOP_TOKENREAD_MAX_PARTS)
		return 0;
	return n;
}

static void
print_server_messages(ssh_session s)
{
	char *banner = ssh_get_issue_banner(s);

	hoopssh_print_remote_text("server", banner);
	ssh_string_free_char(banner);
}

/* What the server says besides its prompts. pam_hoop's reason for a
 * refusal ("hoop: token refused: REASON", sent by sshd as the
 * instruction of a prompt-less round) is kept for the error message;
 * anything else is shown as it comes. */
static void
take_instruction(const char *text, char *reason, size_t reasonlen)
{
	static const char mark[] = HOOPSSH_REFUSAL_MARK;
	const char *line, *nl;
	size_t len, i;

	if (text == NULL)
		return;
	for (line = text; *line != '\0'; line = nl != NULL ? nl + 1 : "") {
		nl = strchr(line, '\n');
		len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (len > sizeof(mark) - 1 &&
		    strncmp(line, mark, sizeof(mark) - 1) == 0) {
			line += sizeof(mark) - 1;
			len -= sizeof(mark) - 1;
			/* Printable ASCII only: it goes into our message. */
			for (i = 0; i < len && i + 1 < reasonlen; i++)
				reason[i] = (unsigned char)line[i] >= 0x20 &&
				    (unsigned char)line[i] < 0x7f ? line[i] :
				    '?';
			reason[i] = '\0';
			continue;
		}
		if (len > 0)
			put_line("server", line, len);
	}
}

int
hoopssh_auth(ssh_session s, const char *token)
{
	const char *prompt;
	unsigned part;
	char echo, reason[160] = "";
	int rc, methods, n, i, answered = 0, ret = -1;

	rc = ssh_userauth_none(s, NULL);
	if (rc == SSH_AUTH_SUCCESS)
		return 0;
	if (rc == SSH_AUTH_ERROR) {
		hoopssh_err("authentication failed: %s", ssh_get_error(s));
		goto out;
	}
	methods = ssh_userauth_list(s, NULL);
	if (!(methods & SSH_AUTH_METHOD_INTERACTIVE)) {
		hoopssh_err("the server does not offer keyboard-interactive "
		    "authentication, which the hoop token login needs");
		goto out;
	}
	rc = ssh_userauth_kbdint(s, NULL, NULL);
	while (rc == SSH_AUTH_INFO) {
		take_instruction(ssh_userauth_kbdint_getinstruction(s),
		    reason, sizeof(reason));
		n = ssh_userauth_kbdint_getnprompts(s);
		for (i = 0; i < n; i++) {
			prompt = ssh_userauth_kbdint_getprompt(s, (unsigned)i,
			    &echo);
			part = prompt != NULL ? token_prompt_part(prompt) : 0;
			if (part == 0) {
				/* Never hand the token to another question. */
				hoopssh_print_remote_text("server prompt",
				    prompt != NULL ? prompt : "(none)");
				hoopssh_err("that is not the hoop token prompt: "
				    "not answering (is this a hoop bastion?)");
				goto out;
			}
			if (part != 1 || answered) {
				hoopssh_err("the server asked for part %u of the "
				    "token after the whole token was sent",
				    part);
				goto out;
			}
			if (ssh_userauth_kbdint_setanswer(s, (unsigned)i,
			    token) != 0) {
				hoopssh_err("cannot answer the token prompt");
				goto out;
			}
			answered = 1;
		}
		rc = ssh_userauth_kbdint(s, NULL, NULL);
	}
	switch (rc) {
	case SSH_AUTH_SUCCESS:
		ret = 0;
		break;
	case SSH_AUTH_DENIED:
		print_server_messages(s);
		if (reason[0] != '\0')
			hoopssh_err("token refused by the bastion: %s", reason);
		else
			hoopssh_err("the bastion refused the token%s (no reason "
			    "given: its authpriv log and 'hoopctl audit list' "
			    "have it)", answered ? "" :
			    " login before asking for a token");
		ret = HOOPSSH_AUTH_REFUSED;
		break;
	case SSH_AUTH_PARTIAL:
		hoopssh_err("the server wants another authentication method "
		    "as well, which hoop-ssh does not do");
		break;
	default:
		hoopssh_err("authentication failed: %s", ssh_get_error(s));
		break;
	}
out:
	return ret;
}
