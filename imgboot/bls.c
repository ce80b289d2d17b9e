/* bls: GRUB's variables and grubenv, and Boot Loader Specification entries (Fedora's and others'
 * /loader/entries/NAME.conf), read as text. Bounded as bootcfg.c is. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "imgboot/bootcfg.h"

#define VALUE_MAX 4096

void bootcfg_env_init(struct bootcfg_env *e)
{
	/* what GRUB 2.06 for a PC has before grub.cfg runs, as grub-mkconfig's output tests it */
	static const char *const own[][2] = {
		{ "grub_platform", "pc" },	  { "grub_cpu", "i386" },
		{ "prefix", "/boot/grub" },	  { "menuentry_id_option", "--id" },
		{ "feature_platform_search_hint", "y" }, { "feature_menuentry_id", "y" },
		{ "feature_default_font_path", "y" },	 { "feature_all_video_module", "y" },
		{ "feature_timeout_style", "y" },
	};

	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		bootcfg_env_set(e, own[i][0], own[i][1], false);
}

void bootcfg_env_free(struct bootcfg_env *e)
{
	for (int i = 0; i < e->n; i++)
		free(e->v[i].value);
	e->n = 0;
}

static int find(const struct bootcfg_env *e, const char *name, bool saved)
{
	for (int i = 0; i < e->n; i++)
		if (e->v[i].saved == saved && !strcmp(e->v[i].name, name))
			return i;
	return -1;
}

int bootcfg_env_set(struct bootcfg_env *e, const char *name, const char *value, bool saved)
{
	int i = find(e, name, saved);
	size_t n = strlen(value);

	if (strlen(name) >= sizeof(e->v[0].name) || n >= VALUE_MAX)
		return -E2BIG;
	if (i < 0) {
		if (e->n == BOOTCFG_VARS)
			return -E2BIG;
		i = e->n++;
		snprintf(e->v[i].name, sizeof(e->v[i].name), "%s", name);
		e->v[i].saved = saved;
		e->v[i].value = NULL;
	}
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	free(e->v[i].value);
	e->v[i].value = v;
	return 0;
}

const char *bootcfg_env_get(const struct bootcfg_env *e, const char *name)
{
	int i = find(e, name, false);

	return i < 0 ? NULL : e->v[i].value;
}

void bootcfg_env_load(struct bootcfg_env *e)
{
	for (int i = 0, n = e->n; i < n; i++)
		if (e->v[i].saved)
			bootcfg_env_set(e, e->v[i].name, e->v[i].value, false);
}

/* The line at *at (cut to fit, NUL-terminated) into line; *at past it. Its length. */
static size_t next_line(const char *text, size_t len, size_t *at, char *line, size_t max)
{
	size_t k = 0;

	for (; *at < len && text[*at] != '\n'; (*at)++)
		if (k + 1 < max)
			line[k++] = text[*at];
	(*at)++;
	line[k] = 0;
	return k;
}

/* grubenv: "# GRUB Environment Block" then NAME=VALUE lines, '#' padding to 1 KiB */
int bootcfg_grubenv(struct bootcfg_env *e, const char *text, size_t len, char *err, size_t errlen)
{
	static const char head[] = "# GRUB Environment Block\n";
	char line[VALUE_MAX + 64];

	if (len > 65536 || len < sizeof(head) - 1 || memcmp(text, head, sizeof(head) - 1)) {
		snprintf(err, errlen, "grubenv is not a GRUB environment block");
		return -EINVAL;
	}
	bootcfg_env_set(e, "\x01grubenv", "y", false);	/* for [ -s $prefix/grubenv ] */
	for (size_t at = sizeof(head) - 1; at < len;) {
		next_line(text, len, &at, line, sizeof(line));
		char *eq = strchr(line, '=');
		if (line[0] == '#' || !eq || eq == line)
			continue;
		*eq = 0;
		if (bootcfg_env_set(e, line, eq + 1, true) < 0) {
			snprintf(err, errlen, "grubenv holds more than GRUB's variables fit");
			return -E2BIG;
		}
	}
	return 0;
}

/* options' $NAME and ${NAME} from env (Fedora's $kernelopts) */
static void expand(const char *in, const struct bootcfg_env *env, char *out, size_t outlen)
{
	size_t k = 0;

	for (; *in && k + 1 < outlen; in++) {
		if (*in != '$') {
			out[k++] = *in;
			continue;
		}
		char name[64];
		size_t j = 0;
		bool brace = in[1] == '{';
		for (in += 1 + brace; *in && (brace ? *in != '}' : (*in == '_' ||
		     (*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') ||
		     (*in >= '0' && *in <= '9'))); in++)
			if (j + 1 < sizeof(name))
				name[j++] = *in;
		name[j] = 0;
		if (!brace)
			in--;
		const char *v = bootcfg_env_get(env, name);
		for (; v && *v && k + 1 < outlen; v++)
			out[k++] = *v;
	}
	out[k] = 0;
}

int bootcfg_bls(const char *text, size_t len, const struct bootcfg_env *env,
		struct bootcfg_entry *out, char version[128])
{
	char line[BOOTCFG_ARGS];

	memset(out, 0, sizeof(*out));
	version[0] = 0;
	out->bls = true;
	if (len > 65536)
		return -E2BIG;
	for (size_t at = 0; at < len;) {
		size_t k = next_line(text, len, &at, line, sizeof(line));
		while (k && (line[k - 1] == ' ' || line[k - 1] == '\t' || line[k - 1] == '\r'))
			line[--k] = 0;
		char *key = line + strspn(line, " \t"), *v = key + strcspn(key, " \t");
		if (*v)
			*v++ = 0;
		v += strspn(v, " \t");
		if (!strcmp(key, "title"))
			snprintf(out->title, sizeof(out->title), "%s", v);
		else if (!strcmp(key, "version"))
			snprintf(version, 128, "%s", v);
		else if (!strcmp(key, "linux"))
			snprintf(out->kernel, sizeof(out->kernel), "%s", v);
		else if (!strcmp(key, "initrd") && out->ninitrd < BOOTCFG_MAX_INITRDS)
			snprintf(out->initrd[out->ninitrd++], BOOTCFG_PATH, "%s", v);
		else if (!strcmp(key, "options"))
			expand(v, env, out->args, sizeof(out->args));
	}
	return out->kernel[0] ? 0 : -ENOENT;
}
