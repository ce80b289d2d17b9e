/* fuzz_bootcfg: any grub.cfg, grubenv or BLS entry an image may hold: no crash, no overrun, no
 * hang, and what comes back is bounded and terminated. The first byte splits the input between a
 * grubenv and the configuration. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "imgboot/bootcfg.h"

static void bounded(const struct bootcfg_entry *e)
{
	if (strnlen(e->title, sizeof(e->title)) == sizeof(e->title) ||
	    strnlen(e->kernel, sizeof(e->kernel)) == sizeof(e->kernel) ||
	    strnlen(e->args, sizeof(e->args)) == sizeof(e->args) || e->ninitrd < 0 ||
	    e->ninitrd > BOOTCFG_MAX_INITRDS)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bootcfg_env env;
	struct bootcfg_entry e;
	char err[256], version[128];
	size_t split;

	if (!size)
		return 0;
	split = size > 1 ? data[0] % size : 0;
	bootcfg_env_init(&env);
	bootcfg_grubenv(&env, (const char *)data + 1, split > 0 ? split - 1 : 0, err, sizeof(err));
	bootcfg_grub((const char *)data + split, size - split, &env, &e, err, sizeof(err));
	bounded(&e);
	bootcfg_bls((const char *)data, size, &env, &e, version);
	bounded(&e);
	bootcfg_env_free(&env);
	return 0;
}
