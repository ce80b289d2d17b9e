/* test_namecache: the pci.ids name cache: a hit needs every device, a changed pci.ids invalidates
 * it, other hosts' entries survive, and a corrupt cache is a miss, never a wrong name. */
#include "config.h"
#include <sys/stat.h>
#include <utime.h>
#include "tests/testutil.h"
#include "probe/facts.h"
#include "probe/namecache.h"

static struct probe_pci_dev dev(uint16_t v, uint16_t d, uint16_t c, const char *vn, const char *dn,
				const char *cn)
{
	struct probe_pci_dev x;

	memset(&x, 0, sizeof(x));
	x.vendor = v;
	x.device = d;
	x.cls = c;
	snprintf(x.vendor_name, sizeof(x.vendor_name), "%s", vn);
	snprintf(x.device_name, sizeof(x.device_name), "%s", dn);
	snprintf(x.class_name, sizeof(x.class_name), "%s", cn);
	return x;
}

static void test_cache_roundtrip_and_staleness(void **state)
{
	char dir[256], cache[300], ids[300];
	struct probe_pci_dev a[2] = {
		dev(0x8086, 0x1572, 0x0200, "Intel Corporation", "X710", "Ethernet controller"),
		dev(0x10de, 0x2330, 0x0302, "NVIDIA Corporation", "H100", "3D controller")
	};
	struct probe_pci_dev b[1] = { dev(0x1af4, 0x1041, 0x0200, "Red Hat, Inc.", "Virtio net",
					  "Ethernet controller") };
	struct probe_pci pa = { .ndevs = 2, .devs = a }, pb = { .ndevs = 1, .devs = b };

	(void)state;
	test_mkdtemp(dir, sizeof(dir));
	snprintf(cache, sizeof(cache), "%s/sub/pci-names", dir);
	snprintf(ids, sizeof(ids), "%s/pci.ids", dir);
	test_sh("echo 'a fake pci.ids' > '%s'", ids);
	assert_false(probe_namecache_valid(cache, ids));
	probe_namecache_store(cache, ids, &pa);
	probe_namecache_store(cache, ids, &pb);	/* another host: the first one's entries stay */
	assert_true(probe_namecache_valid(cache, ids));
	memset(a[0].device_name, 0, sizeof(a[0].device_name));
	memset(a[1].vendor_name, 0, sizeof(a[1].vendor_name));
	assert_true(probe_namecache_fill(cache, ids, &pa));
	assert_string_equal(a[0].device_name, "X710");
	assert_string_equal(a[1].vendor_name, "NVIDIA Corporation");
	assert_string_equal(a[1].class_name, "3D controller");
	struct probe_pci_dev c[1] = { dev(0x1234, 0x5678, 0x0100, "", "",
					  "") }; /* never seen: a miss */
	struct probe_pci pc = { .ndevs = 1, .devs = c };
	assert_false(probe_namecache_fill(cache, ids, &pc));
	struct utimbuf t = { 1000,
			     1000 }; /* pci.ids changed (updated package): the cache is stale */
	utime(ids, &t);
	assert_false(probe_namecache_valid(cache, ids));
	assert_false(probe_namecache_fill(cache, ids, &pa));
	test_sh("rm -rf '%s'", dir);
}

static void test_corrupt_cache_is_a_miss(void **state)
{
	char dir[256], cache[300], ids[300];
	struct probe_pci_dev a[1] = { dev(0x8086, 0x1572, 0x0200, "", "", "") };
	struct probe_pci pa = { .ndevs = 1, .devs = a };

	(void)state;
	test_mkdtemp(dir, sizeof(dir));
	snprintf(cache, sizeof(cache), "%s/pci-names", dir);
	snprintf(ids, sizeof(ids), "%s/pci.ids", dir);
	test_sh("echo x > '%s'", ids);
	struct probe_pci_dev ok[1] = { dev(0x8086, 0x1572, 0x0200, "Intel", "X710", "Ethernet") };
	struct probe_pci pok = { .ndevs = 1, .devs = ok };
	probe_namecache_store(cache, ids, &pok);
	test_sh("sed -i 's/\\t/ /g' '%s'", cache);	/* tabs gone: no entry parses */
	assert_true(probe_namecache_valid(cache, ids));
	assert_false(probe_namecache_fill(cache, ids, &pa));
	test_sh("head -c 20 /dev/urandom > '%s'", cache);
	assert_false(probe_namecache_valid(cache, ids));
	assert_false(probe_namecache_fill(cache, ids, &pa));
	test_sh("rm -rf '%s'", dir);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_cache_roundtrip_and_staleness),
	cmocka_unit_test(test_corrupt_cache_is_a_miss),
};
TEST_MAIN(tests)
