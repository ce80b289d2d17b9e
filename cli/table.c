/* table: prints a compat-db answer as people read it (aligned columns, headers in capitals, yes/no)
 * or as programs do (a JSON array of objects: integers as numbers, booleans as true/false, none as
 * null). */
#include "config.h"
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "common/text.h"
#include "compat-db/compatdb.h"

/* A column but the last is cut here, so that one long cell does not push the rest away. */
#define WIDTH_MAX 48

static const char *cell(const struct compatdb_table *t, int r, int c)
{
	const char *v = t->cells[(size_t)r * t->ncols + c];

	if (!v)
		return "-";
	if (t->kinds[c] == COMPATDB_BOOL)
		return strcmp(v, "0") ? "yes" : "no";
	return v;
}

/* A cell as the terminal may see it: what came from a report (an imported one is anyone's) could
 * hold escapes that set the title, clear the screen or answer into the input; they become '?', and
 * tabs and newlines spaces, so that the table stays a table. malloc'd. */
static char *shown(const struct compatdb_table *t, int r, int c)
{
	char *s = strdup(cell(t, r, c));

	if (!s)
		return NULL;
	text_clean(s);
	for (char *p = s; *p; p++)
		if (*p == '\t' || *p == '\n')
			*p = ' ';
	return s;
}

static void print_json(FILE *out, const struct compatdb_table *t)
{
	json_object *arr = json_object_new_array();

	for (int r = 0; r < t->nrows; r++) {
		json_object *o = json_object_new_object();
		for (int c = 0; c < t->ncols; c++) {
			const char *v = t->cells[(size_t)r * t->ncols + c];
			json_object *j = NULL;
			if (v && t->kinds[c] == COMPATDB_INT)
				j = json_object_new_int64(strtoll(v, NULL, 10));
			else if (v && t->kinds[c] == COMPATDB_BOOL)
				j = json_object_new_boolean(strcmp(v, "0") != 0);
			else if (v)
				j = json_object_new_string(v);
			json_object_object_add(o, t->cols[c], j);
		}
		json_object_array_add(arr, o);
	}
	fprintf(out, "%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
}

static void print_header(FILE *out, const struct compatdb_table *t, const int *width)
{
	for (int c = 0; c < t->ncols; c++) {
		int n = 0;
		for (const char *p = t->cols[c]; *p; p++, n++)
			fputc(*p == '_' ? ' ' : toupper((unsigned char)*p), out);
		fprintf(out, "%*s", c + 1 < t->ncols ? width[c] - n + 1 : 0, "");
	}
	fputc('\n', out);
}

void cli_table_print(FILE *out, const struct compatdb_table *t, bool json)
{
	int width[16] = { 0 };

	if (json) {
		print_json(out, t);
		return;
	}
	for (int c = 0; c < t->ncols && c < 16; c++) {
		width[c] = (int)strlen(t->cols[c]);
		for (int r = 0; r < t->nrows; r++) {
			int n = (int)strlen(cell(t, r, c));
			width[c] = n > width[c] ? n : width[c];
		}
		width[c] = width[c] > WIDTH_MAX ? WIDTH_MAX : width[c];
	}
	print_header(out, t, width);
	for (int r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncols; c++) {
			char *v = shown(t, r, c);
			if (c + 1 < t->ncols)
				fprintf(out, "%-*.*s ", width[c], width[c], v ? v : "?");
			else
				fprintf(out, "%s\n", v ? v : "?");
			free(v);
		}
	if (!t->nrows)
		fputs("(none)\n", out);
}
