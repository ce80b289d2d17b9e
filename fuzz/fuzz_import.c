/* fuzz_import: libFuzzer harness for report import: the whole path (file, bounded parse, envelope
 * check, one transaction) into an in-memory database, reset every few thousand inputs to bound
 * memory. */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "compat-db/compatdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct compatdb *db;
	static unsigned runs;
	static char path[64];
	char err[1024], uuid[37];
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz-import.%d.json", (int)getpid());
	if (!db || ++runs % 4096 == 0) {
		compatdb_close(db);
		if (compatdb_open(":memory:", &db, err, sizeof(err)) < 0)
			abort();
	}
	if (!(f = fopen(path, "w")))
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	compatdb_report_import(db, path, uuid, err, sizeof(err));
	return 0;
}
