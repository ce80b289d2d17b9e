/* test_bootcfg: GRUB's grub.cfg, grubenv and BLS entries read as GRUB reads them
 * (imgboot/bootcfg.c): Debian's generated grub.cfg, the defaults GRUB takes (an index, a submenu
 * path, a title, grubenv's saved_entry and next_entry), and configurations that are refused, not
 * guessed past. */
#include "config.h"
#include <errno.h>
#include "imgboot/bootcfg.h"
#include "tests/testutil.h"

static char *fixture(size_t *len)
{
	char path[4096];
	FILE *f;
	static char buf[65536];

	test_data_path(path, sizeof(path), "imgboot/debian12-grub.cfg");
	assert_non_null(f = fopen(path, "r"));
	*len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[*len] = 0;
	fclose(f);
	return buf;
}

static int grub(const char *text, const char *grubenv, struct bootcfg_entry *e, char *err)
{
	struct bootcfg_env env;
	int rc;

	bootcfg_env_init(&env);
	if (grubenv)
		assert_int_equal(bootcfg_grubenv(&env, grubenv, strlen(grubenv), err, 256), 0);
	rc = bootcfg_grub(text, strlen(text), &env, e, err, 256);
	bootcfg_env_free(&env);
	return rc;
}

/* Debian 12's grub.cfg as update-grub writes it: entry 0, its search, its arguments */
static void test_debian(void **state)
{
	struct bootcfg_entry e;
	char err[256];
	size_t len;
	const char *text = fixture(&len);

	(void)state;
	assert_int_equal(grub(text, NULL, &e, err), 0);
	assert_string_equal(e.title, "Debian GNU/Linux");
	assert_string_equal(e.kernel, "/boot/vmlinuz-6.1.0-28-amd64");
	assert_string_equal(e.args, "root=UUID=6b9a5a1c-5b37-4c5d-a3ad-0c1a6dfd2b39 ro console=tty0 "
				    "console=ttyS0,115200 quiet");
	assert_int_equal(e.ninitrd, 1);
	assert_string_equal(e.initrd[0], "/boot/initrd.img-6.1.0-28-amd64");
	assert_string_equal(e.search_uuid, "6b9a5a1c-5b37-4c5d-a3ad-0c1a6dfd2b39");
	assert_int_equal(e.root_part, 1);
	assert_false(e.bls);
}

/* What grubenv says: next_entry (grub-reboot) first, else default="0" of the else branch; with
 * GRUB_DEFAULT=saved the saved entry, by submenu path or title */
static void test_defaults(void **state)
{
	struct bootcfg_entry e;
	char err[256];
	size_t len;
	const char *text = fixture(&len);

	(void)state;
	assert_int_equal(grub(text, "# GRUB Environment Block\nnext_entry=1>2\n#####\n", &e, err), 0);
	assert_string_equal(e.kernel, "/boot/vmlinuz-6.1.0-26-amd64");
	assert_int_equal(grub(text, "# GRUB Environment Block\nnext_entry=gnulinux-advanced-"
				    "6b9a5a1c-5b37-4c5d-a3ad-0c1a6dfd2b39>Debian GNU/Linux, with "
				    "Linux 6.1.0-28-amd64 (recovery mode)\n", &e, err), 0);
	assert_string_equal(e.args, "root=UUID=6b9a5a1c-5b37-4c5d-a3ad-0c1a6dfd2b39 ro single");
	/* a default that names nothing: entry 0, as GRUB falls back */
	assert_int_equal(grub(text, "# GRUB Environment Block\nnext_entry=7>9\n", &e, err), 0);
	assert_string_equal(e.title, "Debian GNU/Linux");
	/* a default naming a submenu: its first entry */
	const char *saved = "load_env\nset default=\"${saved_entry}\"\n"
			    "menuentry 'A' { linux /a }\n"
			    "submenu 'S' { menuentry 'B' { linux /b x=$y }\n"
			    "  menuentry 'C' --id c-id { linux /c; initrd /i1 /i2 }\n}\n"
			    "set y=late\n";
	assert_int_equal(grub(saved, "# GRUB Environment Block\nsaved_entry=S\n", &e, err), 0);
	assert_string_equal(e.kernel, "/b");
	assert_string_equal(e.args, "x=late");	/* the body runs with the file's last values */
	assert_int_equal(grub(saved, "# GRUB Environment Block\nsaved_entry=S>c-id\n", &e, err), 0);
	assert_string_equal(e.kernel, "/c");
	assert_int_equal(e.ninitrd, 2);
	assert_string_equal(e.initrd[1], "/i2");
	/* load_env never ran: grubenv's value is not GRUB's */
	assert_int_equal(grub("set default=\"${saved_entry}\"\nmenuentry A { linux /a }\n"
			      "menuentry B { linux /b }\n",
			      "# GRUB Environment Block\nsaved_entry=1\n", &e, err), 0);
	assert_string_equal(e.kernel, "/a");
}

/* Quoting and expansion as GRUB's lexer: quotes join, single quotes keep $, escapes, comments,
 * braces inside quotes are not blocks, elif and else */
static void test_words(void **state)
{
	struct bootcfg_entry e;
	char err[256];

	(void)state;
	assert_int_equal(grub("set a=1 b='x y'\nmenuentry \"t}\" {\n  linux /k\"$a\"'$b' \"$b\" "
			      "\\$c # a comment\n  echo '}'\n}\n", NULL, &e, err), 0);
	assert_string_equal(e.title, "t}");
	assert_string_equal(e.kernel, "/k1$b");
	assert_string_equal(e.args, "x y $c");
	assert_int_equal(grub("if [ x = y ]; then set default=1\nelif [ -n \"$grub_platform\" ]; "
			      "then set default=2\nelse set default=0; fi\n"
			      "menuentry a { linux /a }\nmenuentry b { linux /b }\n"
			      "menuentry c { linux /c }\n", NULL, &e, err), 0);
	assert_string_equal(e.kernel, "/c");
	/* loops and functions are never run */
	assert_int_equal(grub("function f { set default=1 }\nfor x in 1 2; do set default=1; done\n"
			      "menuentry a { linux /a }\nmenuentry b { linux /b }\n", NULL, &e, err),
			 0);
	assert_string_equal(e.kernel, "/a");
	assert_int_equal(grub("blscfg\n", NULL, &e, err), -ENOENT);
	assert_true(e.bls);
	assert_int_equal(grub("menuentry 'no kernel' { chainloader +1 }\n", NULL, &e, err), -ENOENT);
	assert_non_null(strstr(err, "loads no Linux kernel"));
}

/* Past a bound, or a block left open: refused with the reason */
static void test_refused(void **state)
{
	struct bootcfg_entry e;
	struct bootcfg_env env;
	char err[256], *big;
	size_t n = BOOTCFG_MAX_TEXT + 1;

	(void)state;
	assert_int_equal(grub("menuentry a { linux /a\n", NULL, &e, err), -EINVAL);
	assert_non_null(strstr(err, "without its '}'"));
	assert_int_equal(grub("if [ a ]; then\nmenuentry a { linux /a }\n", NULL, &e, err), -EINVAL);
	assert_int_equal(grub("submenu s {\n", NULL, &e, err), -EINVAL);
	big = malloc(n + 1);
	memset(big, '#', n);
	big[n] = 0;
	bootcfg_env_init(&env);
	assert_int_equal(bootcfg_grub(big, n, &env, &e, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "1 MiB"));
	/* a word of 5000 bytes, 40 nested ifs, 600 entries, 200 variables */
	memset(big, 'a', 5000);
	memcpy(big, "linux ", 6);
	big[5000] = 0;
	assert_int_equal(bootcfg_grub(big, 5000, &env, &e, err, sizeof(err)), -E2BIG);
	big[0] = 0;
	for (int i = 0; i < 40; i++)
		strcat(big, "if [ a ]; then\n");
	assert_int_equal(bootcfg_grub(big, strlen(big), &env, &e, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "nested"));
	big[0] = 0;
	for (int i = 0; i < 600; i++)
		strcat(big, "menuentry x { linux /x }\n");
	assert_int_equal(bootcfg_grub(big, strlen(big), &env, &e, err, sizeof(err)), -E2BIG);
	big[0] = 0;
	for (int i = 0; i < 200; i++)
		sprintf(big + strlen(big), "set v%d=1\n", i);
	assert_int_equal(bootcfg_grub(big, strlen(big), &env, &e, err, sizeof(err)), -E2BIG);
	bootcfg_env_free(&env);
	free(big);
	assert_int_equal(bootcfg_grubenv(&env, "x=1\n", 4, err, sizeof(err)), -EINVAL);
}

/* BLS: Fedora's entry, options from grubenv's kernelopts */
static void test_bls(void **state)
{
	static const char entry[] =
		"title Fedora Linux (6.5.6-300.fc39.x86_64) 39 (Cloud Edition)\n"
		"version 6.5.6-300.fc39.x86_64\nlinux /vmlinuz-6.5.6-300.fc39.x86_64\n"
		"initrd /initramfs-6.5.6-300.fc39.x86_64.img\n"
		"options $kernelopts no_timer_check\ngrub_users $grub_users\n";
	struct bootcfg_entry e;
	struct bootcfg_env env;
	char version[128], err[256];

	(void)state;
	bootcfg_env_init(&env);
	const char *genv = "# GRUB Environment Block\nkernelopts=root=UUID=1 ro console=ttyS0\n";
	assert_int_equal(bootcfg_grubenv(&env, genv, strlen(genv), err, sizeof(err)), 0);
	bootcfg_env_load(&env);
	assert_int_equal(bootcfg_bls(entry, sizeof(entry) - 1, &env, &e, version), 0);
	assert_string_equal(version, "6.5.6-300.fc39.x86_64");
	assert_string_equal(e.kernel, "/vmlinuz-6.5.6-300.fc39.x86_64");
	assert_string_equal(e.initrd[0], "/initramfs-6.5.6-300.fc39.x86_64.img");
	assert_string_equal(e.args, "root=UUID=1 ro console=ttyS0 no_timer_check");
	assert_int_equal(bootcfg_bls("title x\n", 8, &env, &e, version), -ENOENT);
	bootcfg_env_free(&env);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_debian), cmocka_unit_test(test_defaults),
	cmocka_unit_test(test_words),  cmocka_unit_test(test_refused),
	cmocka_unit_test(test_bls),
};
TEST_MAIN(tests)
