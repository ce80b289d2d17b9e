/* bootcfg: GRUB's grub.cfg read the way GRUB reads it, without running it. Words, quotes and
 * variables are GRUB's; `set`, `load_env`, `if`/`elif`/`else` on `[ ... ]` tests, `menuentry` and
 * `submenu` are followed; every other command (loops, functions, insmod, search outside an entry)
 * does nothing. An entry's body is read only for the entry chosen, with the variables as they are
 * at the end of the file, as GRUB runs it at boot. Everything is bounded: the text, each word, the
 * nesting, the entries; a configuration past a bound is refused, never cut short silently. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "imgboot/bootcfg.h"

#define WORD_MAX 4096
#define ARGS_MAX 48
#define DEPTH_MAX 16
#define ENTRIES_MAX 512

enum tok { T_EOF, T_SEP, T_WORD };

struct lex {
	const char *s;
	size_t n, pos;
	struct bootcfg_env *env;
	bool expand;			/* off while skipping: nothing is expanded that is not run */
	bool quoted;			/* the last word had quotes or escapes: never a brace */
	bool too_long;
};

typedef char word_t[WORD_MAX];

struct menu {
	int parent;			/* -1: the top menu */
	char title[256], id[256];
	size_t body, body_len;		/* the body's span in the text */
	bool submenu;
};

struct interp {
	struct lex l;
	struct menu m[ENTRIES_MAX];
	int nm, cur_parent;
	bool bls;
	int err;			/* -E2BIG, -EINVAL: why reading stopped */
	const char *why;
	struct bootcfg_entry *e;	/* the chosen entry's body runs into it */
	word_t *pending;		/* words after a reserved word, the next command */
	int npending;
	word_t *argv[DEPTH_MAX + 2];	/* each depth's command, allocated when first reached */
	word_t skip;			/* a word read past */
};

/* depth's command words (ARGS_MAX of them), kept for the whole read */
static word_t *words(struct interp *in, int depth)
{
	if (!in->argv[depth])
		in->argv[depth] = malloc(sizeof(word_t) * ARGS_MAX);
	return in->argv[depth];
}

static void put(char *w, size_t *k, char c)
{
	if (*k + 1 < WORD_MAX)
		w[(*k)++] = c;
}

static bool name_char(char c, bool first)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (!first && c >= '0' && c <= '9');
}

/* $NAME or ${NAME} at s[pos] ('$' already taken): its value appended */
static void variable(struct lex *l, char *w, size_t *k)
{
	char name[128];
	size_t j = 0;
	bool brace = l->pos < l->n && l->s[l->pos] == '{';

	if (brace)
		l->pos++;
	while (l->pos < l->n && (brace ? l->s[l->pos] != '}' : name_char(l->s[l->pos], j == 0))) {
		if (j + 1 < sizeof(name))
			name[j++] = l->s[l->pos];
		l->pos++;
	}
	if (brace && l->pos < l->n)
		l->pos++;
	name[j] = 0;
	if (j == 0 && !brace) {
		put(w, k, '$');
		return;
	}
	const char *v = l->expand ? bootcfg_env_get(l->env, name) : NULL;
	for (; v && *v; v++)
		put(w, k, *v);
}

/* The next word, separator or end. A word of only '{' or '}' is returned as such (GRUB's reserved
 * words); quotes join into one word. */
static enum tok next(struct lex *l, char *w)
{
	size_t k = 0;
	bool any = false, dq = false;

	l->quoted = false;
	while (l->pos < l->n) {
		char c = l->s[l->pos];
		if (!dq && (c == ' ' || c == '\t' || c == '\r')) {
			if (any)
				break;
			l->pos++;
		} else if (!dq && (c == '\n' || c == ';')) {
			if (any)
				break;
			l->pos++;
			return T_SEP;
		} else if (!dq && !any && c == '#') {
			while (l->pos < l->n && l->s[l->pos] != '\n')
				l->pos++;
		} else if (c == '\\' && l->pos + 1 < l->n) {
			l->pos += 2, l->quoted = true;
			if (l->s[l->pos - 1] != '\n')
				put(w, &k, l->s[l->pos - 1]);
			any = true;
		} else if (c == '"') {
			dq = !dq, any = true, l->quoted = true, l->pos++;
		} else if (!dq && c == '\'') {
			any = true, l->quoted = true;
			for (l->pos++; l->pos < l->n && l->s[l->pos] != '\''; l->pos++)
				put(w, &k, l->s[l->pos]);
			l->pos++;
		} else if (c == '$') {
			l->pos++, any = true;
			variable(l, w, &k);
		} else {
			put(w, &k, c);
			any = true, l->pos++;
		}
	}
	if (k + 1 >= WORD_MAX)
		l->too_long = true;
	w[k] = 0;
	return any ? T_WORD : T_EOF;
}

/* One command's words (up to the separator) into argv; the count, or -1 at the end of text. */
static int command(struct interp *in, word_t *argv)
{
	struct lex *l = &in->l;
	int argc = 0;
	enum tok t;
	word_t w;

	if (in->npending) {
		argc = in->npending;
		memcpy(argv, in->pending, sizeof(word_t) * (size_t)argc);
		in->npending = 0;
		return argc;
	}
	while ((t = next(l, w)) != T_EOF) {
		if (t == T_SEP) {
			if (argc)
				return argc;
			continue;
		}
		if (argc == ARGS_MAX) {
			in->err = -E2BIG, in->why = "a command of more than 48 words";
			return -1;
		}
		memcpy(argv[argc++], w, strlen(w) + 1);
		/* a block's braces end the command before them: "menuentry 'x' {" */
		if (!l->quoted && (!strcmp(w, "{") || !strcmp(w, "}")))
			return argc;
	}
	if (l->too_long && !in->err)
		in->err = -E2BIG, in->why = "a word longer than 4 KiB";
	return argc ? argc : -1;
}

static void push_back(struct interp *in, word_t *a, int n)
{
	memcpy(in->pending, a, sizeof(word_t) * (size_t)n);
	in->npending = n;
}

static int run(struct interp *in, int depth, bool active, const char *until, char *ended);

/* [ ... ] and test: what GRUB's test command answers for the forms configurations use. A file test
 * is true only for grubenv, when the image has one. */
static bool test(struct interp *in, word_t *a, int n)
{
	bool neg = n > 0 && !strcmp(a[0], "!");

	if (neg)
		a++, n--;
	bool r = false;
	if (n == 1)
		r = a[0][0] != 0;
	else if (n == 2 && !strcmp(a[0], "-n"))
		r = a[1][0] != 0;
	else if (n == 2 && !strcmp(a[0], "-z"))
		r = a[1][0] == 0;
	else if (n == 2 && (!strcmp(a[0], "-s") || !strcmp(a[0], "-f") || !strcmp(a[0], "-e")))
		r = strstr(a[1], "grubenv") && bootcfg_env_get(in->l.env, "\x01grubenv");
	else if (n == 3 && (!strcmp(a[1], "=") || !strcmp(a[1], "==")))
		r = !strcmp(a[0], a[2]);
	else if (n == 3 && !strcmp(a[1], "!="))
		r = strcmp(a[0], a[2]) != 0;
	return neg ? !r : r;
}

/* An if's condition: a test command, or any other command (taken as failing). */
static bool condition(struct interp *in, word_t *a, int n)
{
	if (n >= 2 && !strcmp(a[0], "[") && !strcmp(a[n - 1], "]"))
		return test(in, a + 1, n - 2);
	if (n >= 1 && !strcmp(a[0], "test"))
		return test(in, a + 1, n - 1);
	return false;
}

static bool is(const char *w, const char *set)
{
	size_t n = strlen(w);
	const char *p = set;

	for (; n && (p = strstr(p, w)); p += n)
		if ((p == set || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
			return true;
	return false;
}

/* A block's body skipped to its matching '}' (its span kept): 0, or -1 when it never ends. */
static int skip_block(struct interp *in, size_t *start, size_t *len)
{
	struct lex *l = &in->l;
	bool was = l->expand;
	int depth = 1;
	word_t *w = &in->skip;
	size_t before = l->pos;

	l->expand = false;
	*start = l->pos;
	for (enum tok t; depth > 0 && (before = l->pos, t = next(l, *w)) != T_EOF;)
		if (t == T_WORD && !l->quoted)
			depth += !strcmp(*w, "{") - !strcmp(*w, "}");
	l->expand = was;
	*len = before > *start ? before - *start : 0;
	if (depth > 0) {
		in->err = -EINVAL, in->why = "a '{' without its '}'";
		return -1;
	}
	return 0;
}

/* menuentry/submenu TITLE [--class C] [--id ID] [--users U] [--unrestricted] [--hotkey K] {...} */
static int menu(struct interp *in, word_t *a, int n, int depth, bool active)
{
	struct menu m = { .parent = in->cur_parent, .submenu = !strcmp(a[0], "submenu") };
	bool title = false;

	if (strcmp(a[n - 1], "{")) {
		in->err = -EINVAL, in->why = "a menuentry without '{' on its line";
		return -1;
	}
	for (int i = 1; i < n - 1; i++) {
		if (!strcmp(a[i], "--id") && i + 2 < n)
			snprintf(m.id, sizeof(m.id), "%s", a[++i]);
		else if (!strncmp(a[i], "--id=", 5))
			snprintf(m.id, sizeof(m.id), "%s", a[i] + 5);
		else if ((!strcmp(a[i], "--class") || !strcmp(a[i], "--users") ||
			  !strcmp(a[i], "--hotkey")) && i + 2 < n)
			i++;
		else if (strncmp(a[i], "--", 2) && !title)
			title = true, snprintf(m.title, sizeof(m.title), "%s", a[i]);
	}
	if (!m.submenu || !active) {
		if (skip_block(in, &m.body, &m.body_len) < 0)
			return -1;
	}
	int me = -1;
	if (active) {
		if (in->nm == ENTRIES_MAX) {
			in->err = -E2BIG, in->why = "more than 512 menu entries";
			return -1;
		}
		me = in->nm;
		in->m[in->nm++] = m;
	}
	if (m.submenu && active) {	/* its entries are read now, as GRUB lists them */
		int parent = in->cur_parent;
		char ended[8] = "";
		in->cur_parent = me;
		int rc = run(in, depth + 1, true, "}", ended);
		in->cur_parent = parent;
		if (rc < 0 || strcmp(ended, "}")) {
			if (!in->err)
				in->err = -EINVAL, in->why = "a submenu without its '}'";
			return -1;
		}
	}
	return 0;
}

/* search [--no-floppy] (--fs-uuid|-u|--label|-l|--file|-f) [--set[=VAR]] [--hint...] KEY */
static void search(struct interp *in, word_t *a, int n)
{
	bool uuid = false, label = false, root = false;
	const char *key = NULL;

	for (int i = 1; i < n; i++) {
		if (!strcmp(a[i], "--fs-uuid") || !strcmp(a[i], "-u"))
			uuid = true;
		else if (!strcmp(a[i], "--label") || !strcmp(a[i], "-l"))
			label = true;
		else if (!strcmp(a[i], "--set=root") || (!strcmp(a[i], "--set") && i + 1 < n &&
							  !strcmp(a[i + 1], "root") && ++i))
			root = true;
		else if (a[i][0] != '-')
			key = a[i];
	}
	if (!root || !key)
		return;
	if (uuid)
		snprintf(in->e->search_uuid, sizeof(in->e->search_uuid), "%s", key);
	else if (label)
		snprintf(in->e->search_label, sizeof(in->e->search_label), "%s", key);
}

/* What the chosen entry's body does that matters: linux, initrd, search, set root. */
static void entry_command(struct interp *in, word_t *a, int n)
{
	struct bootcfg_entry *e = in->e;

	if (is(a[0], "linux linux16 linuxefi") && n >= 2) {
		snprintf(e->kernel, sizeof(e->kernel), "%s", a[1]);
		e->args[0] = 0;
		for (int i = 2; i < n; i++) {
			size_t k = strlen(e->args);
			snprintf(e->args + k, sizeof(e->args) - k, "%s%s", k ? " " : "", a[i]);
		}
	} else if (is(a[0], "initrd initrd16 initrdefi")) {
		e->ninitrd = 0;
		for (int i = 1; i < n && e->ninitrd < BOOTCFG_MAX_INITRDS; i++)
			snprintf(e->initrd[e->ninitrd++], BOOTCFG_PATH, "%s", a[i]);
	} else if (!strcmp(a[0], "search")) {
		search(in, a, n);
	}
}

static void set(struct interp *in, word_t *a, int n)
{
	for (int i = 1; i < n; i++) {
		char *eq = strchr(a[i], '=');
		if (!eq || eq == a[i])
			continue;
		*eq = 0;
		if (bootcfg_env_set(in->l.env, a[i], eq + 1, false) < 0 && !in->err)
			in->err = -E2BIG, in->why = "more than 128 variables";
	}
}

/* if COND; then ...; [elif COND; then ...;] [else ...;] fi */
static int if_block(struct interp *in, word_t *a, int n, int depth, bool active)
{
	bool taken = false;
	char ended[8] = "";

	for (;;) {
		bool cond = active && !taken && condition(in, a + 1, n - 1);
		word_t *t = depth <= DEPTH_MAX ? words(in, depth + 1) : NULL;
		int m = t ? command(in, t) : -1;
		if (m < 1 || strcmp(t[0], "then")) {
			if (!in->err)
				in->err = -EINVAL, in->why = "an 'if' without 'then'";
			return -1;
		}
		if (m > 1)
			push_back(in, t + 1, m - 1);
		if (run(in, depth + 1, cond, "elif else fi", ended) < 0)
			return -1;
		taken |= cond;
		if (!strcmp(ended, "elif")) {
			/* the words after elif are its condition, as "if"'s were */
			n = in->npending + 1, in->npending = 0;
			memmove(a + 1, in->pending, sizeof(word_t) * (size_t)(n - 1));
			continue;
		}
		break;
	}
	if (!strcmp(ended, "else") && run(in, depth + 1, active && !taken, "fi", ended) < 0)
		return -1;
	if (strcmp(ended, "fi")) {
		if (!in->err)
			in->err = -EINVAL, in->why = "an 'if' without 'fi'";
		return -1;
	}
	return 0;
}

/* Commands until one of `until` (a reserved word at a command's start: put in ended) or the end of
 * text (an error inside a block). active: carried out; else only read past. */
static int run(struct interp *in, int depth, bool active, const char *until, char *ended)
{
	word_t *a = depth <= DEPTH_MAX ? words(in, depth) : NULL;
	int n, rc = 0;

	if (!a) {
		in->err = -E2BIG, in->why = "blocks nested more than 16 deep";
		return -1;
	}
	while (rc == 0 && (n = command(in, a)) > 0) {
		if (is(a[0], "then do") && n > 1) {	/* "then cmd": the command after it */
			memmove(a, a + 1, sizeof(word_t) * (size_t)--n);
		}
		if (until && is(a[0], until)) {
			snprintf(ended, 8, "%s", a[0]);
			if (n > 1)
				push_back(in, a + 1, n - 1);
			return 0;
		}
		if (!strcmp(a[0], "if"))
			rc = if_block(in, a, n, depth, active);
		else if (is(a[0], "menuentry submenu") && !in->e)
			rc = menu(in, a, n, depth, active);
		else if (is(a[0], "while until for")) {
			rc = run(in, depth + 1, false, "done", ended);
			ended[0] = 0;
		} else if (!strcmp(a[0], "function") && !strcmp(a[n - 1], "{")) {
			size_t s, l;
			rc = skip_block(in, &s, &l);
		} else if (!active)
			continue;
		else if (!strcmp(a[0], "set"))
			set(in, a, n);
		else if (!strcmp(a[0], "load_env"))
			bootcfg_env_load(in->l.env);
		else if (!strcmp(a[0], "blscfg"))
			in->bls = true;
		else if (in->e)
			entry_command(in, a, n);
	}
	if (rc == 0 && in->err)
		rc = -1;
	if (rc == 0 && until && !in->e) {
		in->err = -EINVAL, in->why = "a block that never ends";
		rc = -1;
	}
	return rc;
}

/* The child of parent named by one part of a default: an index among its entries, a title or an
 * id; -1 when none. */
static int child(const struct interp *in, int parent, const char *part)
{
	char *end;
	long idx = strtol(part, &end, 10);
	bool number = *part && !*end && idx >= 0;

	for (int i = 0, k = 0; i < in->nm; i++) {
		if (in->m[i].parent != parent)
			continue;
		if (number ? k == idx : !strcmp(in->m[i].title, part) || !strcmp(in->m[i].id, part))
			return i;
		k++;
	}
	return -1;
}

/* GRUB's default ("2", "1>0", a title or id path) to a menu entry; its first entry when it names
 * none, or names a submenu (whose first entry is taken). */
static int chosen(const struct interp *in, const char *def)
{
	char part[256];
	int at = -1;

	while (def && *def) {
		size_t k = strcspn(def, ">");
		snprintf(part, sizeof(part), "%.*s", (int)(k < sizeof(part) ? k : sizeof(part) - 1),
			 def);
		if ((at = child(in, at, part)) < 0)
			break;
		def += k + (def[k] == '>');
	}
	if (at < 0)
		at = child(in, -1, "0");
	while (at >= 0 && in->m[at].submenu)
		at = child(in, at, "0");
	return at;
}

int bootcfg_grub(const char *text, size_t len, struct bootcfg_env *env, struct bootcfg_entry *out,
		 char *err, size_t errlen)
{
	struct interp *in = calloc(1, sizeof(*in));
	char ended[8] = "";
	int rc = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (len > BOOTCFG_MAX_TEXT) {
		snprintf(err, errlen, "%zu bytes, more than a boot configuration's 1 MiB", len);
		free(in);
		return -E2BIG;
	}
	if (!in || !(in->pending = malloc(sizeof(word_t) * ARGS_MAX)))
		goto out;
	in->l = (struct lex){ .s = text, .n = len, .env = env, .expand = true };
	in->cur_parent = -1;
	if (run(in, 0, true, NULL, ended) < 0)
		goto refused;
	out->bls = in->bls;
	int at = chosen(in, bootcfg_env_get(env, "default"));
	rc = -ENOENT;
	if (at < 0) {
		snprintf(err, errlen, "it has no menu entry");
		goto out;
	}
	/* the entry's body, run as GRUB runs it: with the variables as the file left them */
	snprintf(out->title, sizeof(out->title), "%s", in->m[at].title);
	in->l = (struct lex){ .s = text + in->m[at].body, .n = in->m[at].body_len, .env = env,
			      .expand = true };
	in->e = out;
	if (run(in, 0, true, NULL, ended) < 0)
		goto refused;
	const char *root = bootcfg_env_get(env, "root");
	const char *p = root ? strpbrk(root, ",") : NULL;
	if (p)	/* hd0,gpt2 / hd0,msdos1 / hd0,1 */
		out->root_part = atoi(p + 1 + strcspn(p + 1, "0123456789"));
	rc = 0;
	if (!out->kernel[0]) {
		snprintf(err, errlen, "its default entry '%s' loads no Linux kernel", out->title);
		rc = -ENOENT;
	}
	goto out;
refused:
	rc = in->err ? in->err : -EINVAL;
	snprintf(err, errlen, "not read: %s", in->why ? in->why : "malformed");
out:
	for (int d = 0; in && d < DEPTH_MAX + 2; d++)
		free(in->argv[d]);
	if (in)
		free(in->pending);
	free(in);
	return rc;
}
