/* seed: cloud-init's NoCloud seed for a cloud image's first boot: an ISO 9660 disk labelled cidata
 * (libisofs, Rock Ridge names) holding user-data and meta-data. From `--cloud-init` a user with the
 * ssh keys given, a password stored only as its SHA-512 crypt hash, sudo; or the user's own
 * user-data file as it is. The user-data is JSON after "#cloud-config" (JSON is YAML), so no name
 * or key can break out of its value. */
#include "config.h"
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>
#include "common/safefile.h"
#include "common/trustpath.h"
#include "imgboot/imgboot.h"

#define KEYS_MAX (64u << 10)
#define USER_DATA_MAX (1u << 20)

static int read_given(const char *path, size_t max, char **out, size_t *len, const char *what,
		      char *err, size_t errlen)
{
	struct stat st;
	char why[1024];
	int fd = trustpath_open_regular(path, &st, why, sizeof(why)), rc;

	if (fd < 0) {
		snprintf(err, errlen, "--cloud-init %s=%s: %s", what, path, why);
		return fd;
	}
	rc = safefile_read_all(fd, max, out, len);
	close(fd);
	if (rc < 0)
		snprintf(err, errlen, "--cloud-init %s=%s: %s", what, path,
			 rc == -EFBIG ? "too large" : strerror(-rc));
	return rc;
}

/* ssh public keys, one a line: each "TYPE BASE64 [comment]" with a type OpenSSH knows */
static int keys_check(const char *text, const char *path, char *err, size_t errlen)
{
	int n = 0;

	for (const char *l = text; *l; l += strcspn(l, "\n"), l += *l == '\n') {
		size_t len = strcspn(l, "\n");
		if (len == 0 || *l == '#')
			continue;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)l[i] < 0x20 && l[i] != '\t')
				goto bad;
		if (strncmp(l, "ssh-", 4) && strncmp(l, "ecdsa-", 6) && strncmp(l, "sk-", 3))
			goto bad;
		n++;
	}
	if (n)
		return 0;
bad:
	snprintf(err, errlen, "--cloud-init ssh-key=%s: not an ssh public key file (one key a line, "
		 "e.g. ~/.ssh/id_ed25519.pub; never the private key)", path);
	return -EINVAL;
}

static int user_check(const char *u, char *err, size_t errlen)
{
	bool ok = u[0] && strlen(u) <= 32 && ((u[0] >= 'a' && u[0] <= 'z') || u[0] == '_');

	for (const char *p = u; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
	if (!ok)
		snprintf(err, errlen, "--cloud-init user=%.40s: a user name is a lowercase letter or "
			 "'_', then up to 31 of a-z 0-9 _ -", u);
	return ok ? 0 : -EINVAL;
}

/* SHA-512 crypt, as /etc/shadow takes it on every distribution cloud-init runs on */
static int hash(const char *password, char *out, size_t len, char *err, size_t errlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;

	if (!cd || !crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)) ||
	    !(h = crypt_r(password, salt, cd)) || h[0] == '*') {
		free(cd);
		snprintf(err, errlen, "--cloud-init password: it could not be hashed");
		return -EINVAL;
	}
	snprintf(out, len, "%s", h);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return 0;
}

int imgboot_seed_parse(const char *spec, struct imgboot_seed *s, char *err, size_t errlen)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	int rc = copy ? 0 : -ENOMEM;

	memset(s, 0, sizeof(*s));
	snprintf(s->user, sizeof(s->user), "nestvisor");
	for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		char *v = strchr(tok, '=');
		size_t len;
		if (!v) {
			snprintf(err, errlen, "--cloud-init: '%.40s' is not KEY=VALUE (ssh-key=FILE, "
				 "user=NAME, password=WORD, user-data=FILE)", tok);
			rc = -EINVAL;
			break;
		}
		*v++ = 0;
		if (!strcmp(tok, "ssh-key")) {
			char *k = NULL;
			if ((rc = read_given(v, KEYS_MAX, &k, &len, tok, err, errlen)) == 0 &&
			    (rc = keys_check(k, v, err, errlen)) == 0) {
				size_t at = strlen(s->ssh_keys);
				if (at + len + 2 > sizeof(s->ssh_keys)) {
					snprintf(err, errlen, "--cloud-init: the ssh keys are too many");
					rc = -E2BIG;
				} else {
					snprintf(s->ssh_keys + at, sizeof(s->ssh_keys) - at, "%s\n", k);
				}
			}
			free(k);
		} else if (!strcmp(tok, "user")) {
			if ((rc = user_check(v, err, errlen)) == 0)
				snprintf(s->user, sizeof(s->user), "%s", v);
		} else if (!strcmp(tok, "password")) {
			rc = hash(v, s->password_hash, sizeof(s->password_hash), err, errlen);
			explicit_bzero(v, strlen(v));
		} else if (!strcmp(tok, "user-data")) {
			free(s->user_data);
			s->user_data = NULL;
			if ((rc = read_given(v, USER_DATA_MAX, &s->user_data, &len, tok, err,
					     errlen)) == 0 && strncmp(s->user_data, "#", 1)) {
				snprintf(err, errlen, "--cloud-init user-data=%s: cloud-init reads "
					 "user-data that starts with '#cloud-config' (or another '#' "
					 "header, or a MIME multipart)", v);
				rc = -EINVAL;
			}
		} else {
			snprintf(err, errlen, "--cloud-init: '%.20s' is not ssh-key, user, password or "
				 "user-data", tok);
			rc = -EINVAL;
		}
	}
	if (copy)
		explicit_bzero(copy, strlen(spec));
	free(copy);
	if (rc == 0 && !s->user_data && !s->ssh_keys[0] && !s->password_hash[0]) {
		snprintf(err, errlen, "--cloud-init: give ssh-key=FILE or password=WORD (or your own "
			 "user-data=FILE): otherwise no one can log in");
		rc = -EINVAL;
	}
	if (rc < 0)
		imgboot_seed_free(s);
	return rc;
}

void imgboot_seed_free(struct imgboot_seed *s)
{
	free(s->user_data);
	s->user_data = NULL;
	explicit_bzero(s->password_hash, sizeof(s->password_hash));
}

/* "#cloud-config" and the user, as JSON */
static char *user_data(const struct imgboot_seed *s, const char *hostname)
{
	json_object *top = json_object_new_object(), *users = json_object_new_array();
	json_object *u = json_object_new_object(), *keys = json_object_new_array();
	bool pw = s->password_hash[0] != 0;

	for (const char *l = s->ssh_keys; *l; l += strcspn(l, "\n"), l += *l == '\n') {
		size_t len = strcspn(l, "\n");
		if (len && *l != '#')
			json_object_array_add(keys, json_object_new_string_len(l, (int)len));
	}
	json_object_object_add(u, "name", json_object_new_string(s->user));
	json_object_object_add(u, "groups", json_object_new_string("sudo"));
	json_object_object_add(u, "sudo", json_object_new_string("ALL=(ALL) NOPASSWD:ALL"));
	json_object_object_add(u, "shell", json_object_new_string("/bin/bash"));
	json_object_object_add(u, "lock_passwd", json_object_new_boolean(!pw));
	if (pw)
		json_object_object_add(u, "passwd", json_object_new_string(s->password_hash));
	json_object_object_add(u, "ssh_authorized_keys", keys);
	json_object_array_add(users, u);
	json_object_object_add(top, "users", users);
	json_object_object_add(top, "ssh_pwauth", json_object_new_boolean(pw));
	json_object_object_add(top, "hostname", json_object_new_string(hostname));
	/* the VM's name in /etc/hosts: else sudo says it cannot resolve the host, every time */
	json_object_object_add(top, "manage_etc_hosts", json_object_new_boolean(1));
	const char *j = json_object_to_json_string_ext(
		top, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(j) + 32;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "#cloud-config\n%s\n", j);
	json_object_put(top);
	return out;
}

static int add_file(IsoDir *root, const char *name, char *text)
{
	IsoStream *st = NULL;
	IsoFile *f = NULL;
	int rc = iso_memory_stream_new((unsigned char *)text, strlen(text), &st);

	if (rc < 0) {
		free(text);
		return rc;
	}
	rc = iso_tree_add_new_file(root, name, st, &f);	/* the file takes the stream's reference */
	if (rc < 0)
		iso_stream_unref(st);
	else
		iso_node_set_permissions((IsoNode *)f, 0444);
	return rc;
}

/* the image's 2048-byte blocks into fd */
static int burn(IsoImage *img, int fd)
{
	IsoWriteOpts *o = NULL;
	struct burn_source *b = NULL;
	unsigned char block[2048];
	int rc = iso_write_opts_new(&o, 1);	/* Rock Ridge: cloud-init's names as they are */

	if (rc >= 0)	/* the volume id "cidata" as genisoimage -V writes it, not upper-cased */
		rc = iso_write_opts_set_relaxed_vol_atts(o, 1);
	if (rc >= 0)
		rc = iso_image_create_burn_source(img, o, &b);
	while (rc >= 0 && (rc = b->read_xt(b, block, sizeof(block))) == (int)sizeof(block))
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
			rc = -1;
	if (b) {
		b->free_data(b);
		free(b);
	}
	if (o)
		iso_write_opts_free(o);
	return rc == 0 ? 0 : -1;
}

int imgboot_seed_write(const struct imgboot_seed *s, const char *name, const char *path,
		       char *err, size_t errlen)
{
	IsoImage *img = NULL;
	char meta[256];
	char *ud = s->user_data ? strdup(s->user_data) : user_data(s, name);
	int fd = -1, rc = -EIO;

	snprintf(meta, sizeof(meta), "{\"instance-id\": \"nestvisor-%s\", \"local-hostname\": "
		 "\"%s\"}\n", name, name);	/* a VM name is [A-Za-z0-9._-]: nothing to escape */
	char *md = strdup(meta);
	if (!ud || !md || iso_init() < 0) {
		free(ud), free(md);
		snprintf(err, errlen, "cloud-init seed: out of memory");
		return -ENOMEM;
	}
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		rc = -errno;
		free(ud), free(md);
		snprintf(err, errlen, "cloud-init seed %s: %s", path, strerror(-rc));
		iso_finish();
		return rc;
	}
	if (iso_image_new("cidata", &img) >= 0 && add_file(iso_image_get_root(img), "user-data",
							   ud) >= 0 &&
	    add_file(iso_image_get_root(img), "meta-data", md) >= 0 && burn(img, fd) == 0)
		rc = 0;
	else
		snprintf(err, errlen, "cloud-init seed %s: libisofs could not write it", path);
	if (img)
		iso_image_unref(img);
	iso_finish();
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		unlink(path);
	return rc;
}
