/* table: a query's answer as rows of named, typed columns. compat-db fills them from SQLite or
 * libpq; the CLI prints them (a table or JSON), the TUI lays them out itself. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "compat-db/db.h"

struct compatdb_table *compatdb_table_new(int ncols)
{
	struct compatdb_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->cols = calloc(ncols, sizeof(*t->cols));
	t->kinds = calloc(ncols, sizeof(*t->kinds));
	if (!t->cols || !t->kinds) {
		compatdb_table_free(t);
		return NULL;
	}
	return t;
}

int compatdb_table_column(struct compatdb_table *t, int c, const char *name,
			  enum compatdb_kind kind)
{
	if (!(t->cols[c] = strdup(name)))
		return -ENOMEM;
	t->kinds[c] = kind;
	return 0;
}

/* Appends a row of ncols cells (NULL: none); copies them. */
int compatdb_table_add(struct compatdb_table *t, const char *const *cells)
{
	size_t have = (size_t)t->nrows * t->ncols;

	if (t->nrows == t->cap) {
		int cap = t->cap ? t->cap * 2 : 16;
		char **grown = realloc(t->cells, (size_t)cap * t->ncols * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		t->cells = grown;
		t->cap = cap;
	}
	for (int c = 0; c < t->ncols; c++) {
		t->cells[have + c] = cells[c] ? strdup(cells[c]) : NULL;
		if (cells[c] && !t->cells[have + c]) {
			while (c-- > 0)
				free(t->cells[have + c]);
			return -ENOMEM;
		}
	}
	t->nrows++;
	return 0;
}

int compatdb_table_find(const struct compatdb_table *t, const char *name)
{
	for (int c = 0; c < t->ncols; c++)
		if (!strcmp(t->cols[c], name))
			return c;
	return -1;
}

const char *compatdb_table_get(const struct compatdb_table *t, int row, const char *name)
{
	int c = compatdb_table_find(t, name);

	if (c < 0 || row < 0 || row >= t->nrows)
		return NULL;
	return t->cells[(size_t)row * t->ncols + c];
}

void compatdb_table_free(struct compatdb_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < (size_t)t->nrows * t->ncols; i++)
		free(t->cells[i]);
	for (int c = 0; c < t->ncols && t->cols; c++)
		free(t->cols[c]);
	free(t->cells);
	free(t->cols);
	free(t->kinds);
	free(t);
}
