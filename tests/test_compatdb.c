/* test_compatdb: the local compatibility database on real SQLite files: record, export/import round
 * trips, device knowledge across hosts, the refusal of hostile reports with nothing written, and
 * schema rules. */
#include "config.h"
#include <sys/utsname.h>
#include <errno.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <unistd.h>
#include "tests/testutil.h"
#include "compat-db/compatdb.h"
#include "compat-db/db.h"	/* compatdb_host_id() */
#include "probe/probe.h"

static char *probe_json_of(const char *host)
{
	struct probe_options o = { 0 };
	struct probe_report rep;
	char dir[512], err[256];

	test_data_path(dir, sizeof(dir), "hosts/");
	strncat(dir, host, sizeof(dir) - strlen(dir) - 1);
	o.replay_dir = dir;
	assert_int_equal(probe_run(&o, &rep, err, sizeof(err)), 0);
	char *doc = probe_output_json(&rep);
	probe_report_free(&rep);
	return doc;
}

/* An export file of host's report, as another machine (host_id) would have made it. */
static void write_envelope(const char *path, const char *host, const char *host_id,
			   const char *uuid)
{
	char *doc = probe_json_of(host);
	json_object *e = json_object_new_object();

	json_object_object_add(e, "nestvisor_report", json_object_new_int(1));
	json_object_object_add(e, "uuid", json_object_new_string(uuid));
	json_object_object_add(e, "created", json_object_new_string("2026-11-24T10:00:00.000Z"));
	json_object_object_add(e, "host_id", json_object_new_string(host_id));
	json_object_object_add(e, "probe", json_tokener_parse(doc));
	FILE *f = fopen(path, "w");
	fputs(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN), f);
	fclose(f);
	json_object_put(e);
	free(doc);
}

/* A new, empty database in a new temporary directory. */
static struct compatdb *db_new(char dir[256], char path[300])
{
	struct compatdb *db;
	char err[512];

	test_mkdtemp(dir, 256);
	snprintf(path, 300, "%s/compat.db", dir);
	assert_int_equal(compatdb_open(path, &db, err, sizeof(err)), 0);
	return db;
}

static int count(struct compatdb *db, const char *what)
{
	struct compatdb_table *t = NULL;
	char err[512];
	int n;

	if (!strcmp(what, "reports"))
		assert_int_equal(compatdb_report_list(db, &t, err, sizeof(err)), 0);
	else
		assert_int_equal(compatdb_hosts(db, &t, err, sizeof(err)), 0);
	n = t->nrows;
	compatdb_table_free(t);
	return n;
}

static void test_record_export_import(void **state)
{
	char dir[256], p1[300], p2[300], file[300], err[512], uuid[37], uuid2[37];
	struct compatdb *a, *b;
	char *doc = probe_json_of("intel-vtx-nested");

	(void)state;
	test_mkdtemp(dir, sizeof(dir));
	snprintf(p1, sizeof(p1), "%s/a/compat.db", dir);	/* directories are made as needed */
	snprintf(p2, sizeof(p2), "%s/b.db", dir);
	snprintf(file, sizeof(file), "%s/report.json", dir);
	assert_int_equal(compatdb_open(p1, &a, err, sizeof(err)), 0);
	assert_int_equal(compatdb_report_record(a, doc, "lab-1", uuid, err, sizeof(err)), 0);
	assert_int_equal(strlen(uuid), 36);
	assert_int_equal(count(a, "reports"), 1);
	char *exp = compatdb_report_export(a, uuid, false, err, sizeof(err));
	assert_non_null(exp);
	FILE *f = fopen(file, "w");
	fputs(exp, f);
	fclose(f);
	assert_null(strstr(exp, "root=/dev/mapper")); /* the command line's identifiers stay home */
	assert_non_null(strstr(exp, "intel_iommu=on"));	/* ...but what matters to the IOMMU goes */
	assert_int_equal(compatdb_open(p2, &b, err, sizeof(err)), 0);
	assert_int_equal(compatdb_report_import(b, file, uuid2, err, sizeof(err)), 0);
	assert_string_equal(uuid, uuid2);
	assert_int_equal(compatdb_report_import(b, file, uuid2, err, sizeof(err)),
			 1); /* already there */
	assert_int_equal(compatdb_report_import(a, file, uuid2, err, sizeof(err)),
			 1); /* its own export too */
	assert_int_equal(count(b, "reports"), 1);
	free(exp);
	free(doc);
	compatdb_close(a);
	compatdb_close(b);
	test_sh("rm -rf '%s'", dir);
}

static void test_device_knowledge_across_hosts(void **state)
{
	char dir[256], path[300], file[300], err[512], uuid[37];
	struct compatdb_table *t = NULL;
	struct compatdb *db;

	(void)state;
	db = db_new(dir, path);
	static const struct { const char *host, *id, *uuid; } r[] = {
		{ "intel-vtx-nested", "host-a", "00000000-0000-4000-8000-00000000000a" },
		{ "gpu-group-shared-usb", "host-b", "00000000-0000-4000-8000-00000000000b" },
		{ "intel-vtx-nested", "host-c", "00000000-0000-4000-8000-00000000000c" },
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		snprintf(file, sizeof(file), "%s/r%zu.json", dir, i);
		write_envelope(file, r[i].host, r[i].id, r[i].uuid);
		assert_int_equal(compatdb_report_import(db, file, uuid, err, sizeof(err)), 0);
	}
	assert_int_equal(count(db, "hosts"), 3);
	assert_int_equal(compatdb_device(db, "8086:1572", &t, err, sizeof(err)), 0); /* the X710 */
	assert_int_equal(t->nrows, 1);
	assert_string_equal(compatdb_table_get(t, 0, "hosts"), "2");
	assert_int_equal(t->kinds[compatdb_table_find(t, "hosts")], COMPATDB_INT);
	assert_string_equal(compatdb_table_get(t, 0, "ready_on"), "2");
	assert_string_equal(compatdb_table_get(t, 0, "drivers"), "i40e");
	assert_null(compatdb_table_get(t, 0, "no_such_column"));
	assert_null(compatdb_table_get(t, 1, "hosts"));
	compatdb_table_free(t);
	struct compatdb_device_filter filt = { .verdict = "not-ready" };
	assert_int_equal(compatdb_devices(db, &filt, &t, err, sizeof(err)), 0);
	bool gpu = false;
	for (int i = 0; i < t->nrows; i++) {
		gpu |= !strcmp(compatdb_table_get(t, i, "id"),
			       "10de:2204"); /* the RTX 3090 in a shared group */
		assert_string_not_equal(compatdb_table_get(t, i, "id"), "8086:1572");
	}
	assert_true(gpu);
	compatdb_table_free(t);
	t = (void *)1;
	assert_int_equal(compatdb_device(db, "dead:beef", &t, err, sizeof(err)), -ENOENT);
	assert_null(t);
	assert_int_equal(compatdb_device(db, "8086", &t, err, sizeof(err)), -EINVAL);
	/* the reports list: booleans as booleans, whatever the probe could not say as none */
	assert_int_equal(compatdb_report_list(db, &t, err, sizeof(err)), 0);
	assert_int_equal(t->nrows, 3);
	assert_int_equal(t->kinds[compatdb_table_find(t, "nested")], COMPATDB_BOOL);
	assert_string_equal(compatdb_table_get(t, 0, "nested"), "1");
	compatdb_table_free(t);
	compatdb_close(db);
	test_sh("rm -rf '%s'", dir);
}

static void expect_refused(struct compatdb *db, const char *dir, const char *content, size_t len,
			   const char *why)
{
	char file[300], err[512] = "", uuid[37];
	FILE *f;

	snprintf(file, sizeof(file), "%s/bad.json", dir);
	f = fopen(file, "w");
	fwrite(content, 1, len, f);
	fclose(f);
	int before = count(db, "reports");
	int rc = compatdb_report_import(db, file, uuid, err, sizeof(err));
	if (rc >= 0 || !strstr(err, file) || !strstr(err, why))
		fail_msg("import of %s gave %d \"%s\", expected a refusal about \"%s\"", why, rc,
			 err, why);
	assert_int_equal(count(db, "reports"), before);	/* nothing partially written */
}

static void test_hostile_reports_refused(void **state)
{
	char dir[256], path[300], file[300], err[512], uuid[37];
	struct compatdb *db;

	(void)state;
	test_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/compat.db", dir);
	snprintf(file, sizeof(file), "%s/good.json", dir);
	assert_int_equal(compatdb_open(path, &db, err, sizeof(err)), 0);
	write_envelope(file, "amd-svm-avic", "host-x", "00000000-0000-4000-8000-000000000001");
	assert_int_equal(compatdb_report_import(db, file, uuid, err, sizeof(err)), 0);
	FILE *f = fopen(file, "r");
	static char good[1 << 20];
	size_t n = fread(good, 1, sizeof(good) - 1, f);
	fclose(f);
	good[n] = '\0';
	expect_refused(db, dir, "{ not json", 10, "not one valid JSON document");
	expect_refused(db, dir, good, n / 2, "not one valid JSON document");	/* truncated */
	expect_refused(db, dir, "[1,2,3]", 7, "not a JSON object");
	/* json-c's extensions are not JSON: a single-quoted string once underflowed the key counter
	 * (fuzz_import) */
	expect_refused(db, dir, "']{'", 4, "not one valid JSON document");
	expect_refused(db, dir, "{'a':1}", 7,
		       "not one valid JSON document"); /* json-c's strict mode takes it */
	expect_refused(db, dir, "{\"a\":1,}", 8, "not one valid JSON document");
	expect_refused(db, dir, "{\"a\":1}\0{}", 10, "NUL byte");
	char deep[3000];
	memset(deep, '[', sizeof(deep));
	expect_refused(db, dir, deep, sizeof(deep),
		       "not one valid JSON document"); /* nesting bomb */
	char *typed = strdup(good), *p = strstr(typed, "\"nested\":true");
	if (!p)
		p = strstr(typed, "\"nested\":false");
	assert_non_null(p);
	memcpy(p, "\"nested\":9999", 13);
	expect_refused(db, dir, typed, strlen(typed), "probe.summary.nested has the wrong type");
	free(typed);
	char *other = strdup(good);	/* the same UUID with other content */
	p = strstr(other, "\"worst\":\"");
	assert_non_null(p);
	p[9] = 'X';
	expect_refused(db, dir, other, strlen(other), "already in");
	free(other);
	size_t big = COMPATDB_MAX_REPORT + 10;
	char *huge = malloc(big);
	memset(huge, ' ', big);
	expect_refused(db, dir, huge, big, "larger than a report can be");
	free(huge);
	/* issue 12, 6 and 13: text PostgreSQL refuses, repeated keys and entries, a time that is
	 * not one */
	static const struct { const char *after, *insert, *why;
	} edits[] = {
		{ "\"evidence\":\"", "\\u0000", "a string holds a NUL character" },
		{ "\"evidence\":\"", "\xff\xfe", "UTF-8" },
		{ "\"evidence\":\"", "\xed\xa0\x80", "UTF-8" }, /* a surrogate */
		{ "\"evidence\":\"", "\xc0\xaf", "UTF-8" }, /* an overlong "/" */
		{ "{", "\"uuid\":\"00000000-0000-4000-8000-000000000009\",",
		  "a key appears twice" },
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *at = strstr(good, edits[i].after), *t = malloc(n + 64);
		assert_non_null(at);
		size_t pre = (size_t)(at - good) + strlen(edits[i].after);
		snprintf(t, n + 64, "%.*s%s%s", (int)pre, good, edits[i].insert, good + pre);
		expect_refused(db, dir, t, strlen(t), edits[i].why);
		free(t);
	}
	static const struct { const char *member; const char *why; } twice[] = {
		{ "devices", "address \"" }, { "checks", "appears twice" },
	};
	for (size_t i = 0; i < sizeof(twice) / sizeof(twice[0]); i++) {
		json_object *env = json_tokener_parse(good),
			    *probe = json_object_object_get(env, "probe");
		json_object *arr = json_object_object_get(probe, twice[i].member);
		assert_true(json_object_array_length(arr) > 0);
		json_object_array_add(arr, json_object_get(json_object_array_get_idx(arr, 0)));
		const char *t = json_object_to_json_string(env);
		expect_refused(db, dir, t, strlen(t), twice[i].why);
		json_object_put(env);
	}
	json_object *env = json_tokener_parse(good);
	json_object_object_add(env, "created", json_object_new_string("yesterday at noon"));
	expect_refused(db, dir, json_object_to_json_string(env),
		       strlen(json_object_to_json_string(env)), "is not a time");
	json_object_object_add(env, "created", json_object_new_string("2026-02-30T10:00:00Z"));
	expect_refused(db, dir, json_object_to_json_string(env),
		       strlen(json_object_to_json_string(env)), "is not a time");
	json_object_put(env);
	compatdb_close(db);
	test_sh("rm -rf '%s'", dir);
}

/* Every message that names the shared database hides its password (issue 12, 5). */
static void test_url_password_hidden(void **state)
{
	static const struct { const char *url, *shown;
	} cases[] = {
		{ "postgresql://u:secret@db.example:5432/fleet",
		  "postgresql://u:***@db.example:5432/fleet" },
		{ "postgres://u:s%40c@h/db?sslmode=require&password=two",
		  "postgres://u:***@h/db?sslmode=require&password=***" },
		{ "postgresql://u@h/db", "postgresql://u@h/db" },
		{ "postgresql://h/db?password=x", "postgresql://h/db?password=***" },
		{ "host=h password=secret dbname=x", "host=h password=*** dbname=x" },
		{ "host=h password = 'se cr\\'et' user=u", "host=h password = *** user=u" },
		{ "password=", "password=***" },
	};
	char out[256], err[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		compatdb_url_shown(cases[i].url, out, sizeof(out));
		if (strcmp(out, cases[i].shown))
			fail_msg("%s shown as \"%s\", expected \"%s\"", cases[i].url, out,
				 cases[i].shown);
	}
	setenv("NESTVISOR_LIBPQ", "/nonexistent",
	       0); /* no server needed: a refused port, or no libpq at all */
	assert_true(compatdb_remote_init("postgresql://u:hunter2@127.0.0.1:1/x", err, sizeof(err)) <
		    0);
	assert_null(strstr(err, "hunter2"));
	assert_true(compatdb_remote_init("host=127.0.0.1 port=1 password=hunter2", err,
					 sizeof(err)) < 0);
	assert_null(strstr(err, "hunter2"));
}

static void test_newer_and_corrupt_files_untouched(void **state)
{
	char dir[256], path[300], err[512];
	struct compatdb *db;
	sqlite3 *s;

	(void)state;
	db = db_new(dir, path);
	compatdb_close(db);
	assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
	assert_int_equal(sqlite3_exec(s, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(s);
	assert_int_equal(test_sh("cp '%s' '%s.before'", path, path), 0);
	assert_true(compatdb_open(path, &db, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "written by a newer nestvisor (schema 99"));
	assert_int_equal(test_sh("cmp -s '%s' '%s.before'", path, path),
			 0); /* not one byte changed */
	test_sh("head -c 4096 /dev/urandom > '%s'", path);
	assert_true(compatdb_open(path, &db, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, path));
	test_sh("rm -rf '%s'", dir);
}

/* A new database in a new directory holding one live-probe report of the RTX 3090 host. */
static struct compatdb *db_with_one_report(char dir[256], char path[300], char uuid[37])
{
	char err[512], *doc = probe_json_of("gpu-group-shared-usb");
	struct compatdb *db = db_new(dir, path);

	assert_int_equal(compatdb_report_record(db, doc, NULL, uuid, err, sizeof(err)), 0);
	free(doc);
	return db;
}

/* A probe that finds what the host's last report said is that report seen again, not a new one
 * (the TUI probes at every start); timings aside, any change is a new report. */
static void test_seen_again(void **state)
{
	char dir[256], path[300], err[512], uuid[37], again[37];
	struct compatdb *db = db_with_one_report(dir, path, uuid);
	struct compatdb_table *t = NULL;
	char *doc = probe_json_of("gpu-group-shared-usb");

	(void)state;
	assert_int_equal(compatdb_report_record(db, doc, NULL, again, err, sizeof(err)), 1);
	assert_string_equal(again, uuid);
	/* the functional check's timings differ from run to run */
	json_object *p = json_tokener_parse(doc), *kvm, *checks;
	assert_true(json_object_object_get_ex(p, "kvm", &kvm));
	json_object_object_add(kvm, "run_total_us", json_object_new_double(1234.5));
	assert_true(json_object_object_get_ex(p, "checks", &checks));
	for (size_t i = 0; i < json_object_array_length(checks); i++) {
		json_object *c = json_object_array_get_idx(checks, i), *id, *ev;
		if (!json_object_object_get_ex(c, "id", &id) ||
		    strcmp(json_object_get_string(id), "kvm.run") ||
		    !json_object_object_get_ex(c, "evidence", &ev))
			continue;
		char *text = strdup(json_object_get_string(ev)); /* its timings, other numbers */
		for (char *q = text; *q; q++)
			*q = *q >= '0' && *q <= '9' ? (char)('0' + (*q - '0' + 1) % 10) : *q;
		json_object_object_add(c, "evidence", json_object_new_string(text));
		free(text);
	}
	assert_int_equal(compatdb_report_record(db, json_object_to_json_string(p), NULL, again, err,
						sizeof(err)), 1);
	assert_string_equal(again, uuid);
	assert_int_equal(compatdb_report_list(db, &t, err, sizeof(err)), 0);
	assert_int_equal(t->nrows, 1);
	assert_string_equal(compatdb_table_get(t, 0, "seen"), "3");
	assert_non_null(compatdb_table_get(t, 0, "seen_last"));
	compatdb_table_free(t);
	/* a fact that changed (a device's driver) is a new report */
	json_object *devs, *d0;
	assert_true(json_object_object_get_ex(p, "devices", &devs));
	d0 = json_object_array_get_idx(devs, 0);
	json_object_object_add(d0, "driver", json_object_new_string("vfio-pci"));
	assert_int_equal(compatdb_report_record(db, json_object_to_json_string(p), NULL, again, err,
						sizeof(err)), 0);
	assert_string_not_equal(again, uuid);
	assert_int_equal(count(db, "reports"), 2);
	/* and the first one's facts again are not the last report's: new as well */
	assert_int_equal(compatdb_report_record(db, doc, NULL, again, err, sizeof(err)), 0);
	assert_int_equal(count(db, "reports"), 3);
	json_object_put(p);
	free(doc);
	compatdb_close(db);
	test_sh("rm -rf '%s'", dir);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The host id's crypt (~2.4 ms of every probe) is cached with the identity of /etc/machine-id: the
 * cache answers for the same file, and a cache made from another file is computed again and
 * rewritten. */
static void test_host_id_cached(void **state)
{
	char dir[256], path[400], id[64], got[64], line[256], text[512];
	const char *old = getenv("XDG_CACHE_HOME");
	char *saved = old ? strdup(old) : NULL;
	FILE *f;

	(void)state;
	if (access("/etc/machine-id", R_OK) != 0)
		skip();
	test_mkdtemp(dir, sizeof(dir));
	setenv("XDG_CACHE_HOME", dir, 1);
	assert_int_equal(compatdb_host_id(id, sizeof(id)), 0);
	assert_int_equal(strlen(id), 32);
	snprintf(path, sizeof(path), "%s/nestvisor/host-id", dir);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));		/* the key */
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	assert_int_equal(strncmp(text, id, 32), 0);
	snprintf(text, sizeof(text), "%sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", line);
	write_text(path, text);
	assert_int_equal(compatdb_host_id(got, sizeof(got)), 0);
	assert_string_equal(got,
			    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); /* the cache answered: no crypt */
	write_text(path,
		   "nestvisor-host-id 1 0 0 0 0.000000000\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
	assert_int_equal(compatdb_host_id(got, sizeof(got)), 0);
	assert_string_equal(got, id);				/* another file's: computed again */
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(text, sizeof(text), f));
	assert_string_equal(text, line);			/* and rewritten */
	fclose(f);
	if (saved)
		setenv("XDG_CACHE_HOME", saved, 1);
	else
		unsetenv("XDG_CACHE_HOME");
	free(saved);
	test_sh("rm -rf '%s'", dir);
}

/* report show: the checks in the probe's order, then the devices (the checks were once missing:
 * their query asked a WITHOUT ROWID table for its rowid). */
static void test_report_show(void **state)
{
	char dir[256], path[300], err[512], uuid[37];
	struct compatdb *db = db_with_one_report(dir, path, uuid);
	struct compatdb_table *t = NULL;
	int input = -1, model = -1, hwvirt = -1;

	(void)state;
	uuid[8] = '\0';	/* a prefix is enough */
	assert_int_equal(compatdb_report_checks(db, uuid, &t, err, sizeof(err)), 0);
	for (int i = 0; i < t->nrows; i++) {
		const char *id = compatdb_table_get(t, i, "check");
		input = !strcmp(id, "probe.input") ? i : input;
		model = !strcmp(id, "cpu.model") ? i : model;
		hwvirt = !strcmp(id, "cpu.hwvirt") ? i : hwvirt;
	}
	assert_true(input >= 0 && input < model &&
		    model < hwvirt); /* the probe's order, not the ids' */
	compatdb_table_free(t);
	assert_int_equal(compatdb_report_devices(db, uuid, &t, err, sizeof(err)), 0);
	bool gpu = false;
	for (int i = 0; i < t->nrows; i++)
		gpu |= !strcmp(compatdb_table_get(t, i, "id"), "10de:2204");
	assert_true(gpu);
	compatdb_table_free(t);
	assert_int_equal(compatdb_report_checks(db, "ffff", &t, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no report ffff"));
	assert_int_equal(compatdb_report_checks(db, "xyz", &t, err, sizeof(err)), -EINVAL);
	compatdb_close(db);
	test_sh("rm -rf '%s'", dir);
}

/* A file of schema 1 (before the class rules) is upgraded in place: its reports stay, the rules
 * arrive. */
static void test_migration_keeps_reports(void **state)
{
	char dir[256], path[300], err[512], uuid[37];
	struct compatdb *db = db_with_one_report(dir, path, uuid);
	sqlite3 *s;

	(void)state;
	compatdb_close(db);
	assert_int_equal(sqlite3_open(path, &s), SQLITE_OK); /* make it what nestvisor 0.1 wrote */
	assert_int_equal(sqlite3_exec(s, "DROP TABLE passthrough; DROP TABLE class_rules;"
				      " ALTER TABLE reports DROP COLUMN seen_count; ALTER TABLE reports DROP COLUMN seen_last;"
				      " PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(s);
	assert_int_equal(compatdb_open(path, &db, err, sizeof(err)), 0);
	assert_int_equal(count(db, "reports"), 1);
	struct compatdb_table *t = NULL;
	assert_int_equal(compatdb_device(db, "10de:2204", &t, err, sizeof(err)),
			 0); /* the RTX 3090 */
	assert_string_equal(compatdb_table_get(t, 0, "alternative"),
			    "virtio-gpu (Display controller)");
	compatdb_table_free(t);
	compatdb_close(db);
	assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(s, "PRAGMA user_version", -1, &st, NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), COMPATDB_SCHEMA_VERSION);
	sqlite3_finalize(st);
	sqlite3_close(s);
	test_sh("rm -rf '%s'", dir);
}

/* What passthrough did with a model, beside the probe's verdicts: counted by outcome, the kernels
 * it worked on, the last failure; an outcome or an ID that is not one refused. */
static void test_passthrough_outcomes(void **state)
{
	char dir[256], path[300], err[512], uuid[37];
	struct compatdb *db = db_with_one_report(dir, path, uuid);
	struct compatdb_table *t = NULL;
	struct utsname u;

	(void)state;
	assert_int_equal(uname(&u), 0);
	assert_int_equal(compatdb_device(db, "10de:2204", &t, err, sizeof(err)), 0);
	assert_string_equal(compatdb_table_get(t, 0, "passed_through"), "0");
	compatdb_table_free(t);
	assert_int_equal(compatdb_passthrough_record(db, "0000:01:00.0", "10DE:2204", "worked",
						     "reset", err, sizeof(err)), 0);
	assert_int_equal(compatdb_passthrough_record(db, "0000:01:00.0", "10de:2204", "worked",
						     "stopped", err, sizeof(err)), 0);
	assert_int_equal(compatdb_passthrough_record(db, "0000:01:00.0", "10de:2204", "failed",
						     "device-lost", err, sizeof(err)), 0);
	assert_int_equal(compatdb_passthrough_record(db, "0000:01:00.0", "10de:2204", "fine", "reset",
						     err, sizeof(err)), -EINVAL);
	assert_int_equal(compatdb_passthrough_record(db, "0000:01:00.0", "10de:22045", "worked",
						     "reset", err, sizeof(err)), -EINVAL);
	assert_int_equal(compatdb_device(db, "10de:2204", &t, err, sizeof(err)), 0);
	assert_string_equal(compatdb_table_get(t, 0, "passed_through"), "2");
	assert_string_equal(compatdb_table_get(t, 0, "passthrough_failed"), "1");
	assert_string_equal(compatdb_table_get(t, 0, "worked_on_kernels"), u.release);
	assert_string_equal(compatdb_table_get(t, 0, "last_failure"), "device-lost");
	compatdb_table_free(t);
	compatdb_close(db);
	test_sh("rm -rf '%s'", dir);
}

struct said { int n, imported, already, refused; char order[2600][8]; char why[512]; };

static void heard(void *ctx, const char *file, int rc, const char *uuid, const char *why)
{
	struct said *s = ctx;
	const char *base = strrchr(file, '/') + 1;

	snprintf(s->order[s->n++], sizeof(s->order[0]), "%.7s", base);
	if (rc == 0) {
		s->imported++;
		assert_int_equal(strlen(uuid), 36);
	} else if (rc == 1)
		s->already++;
	else {
		s->refused++;
		snprintf(s->why, sizeof(s->why), "%s", why);
	}
}

/* Many files through the reader threads and batches of 1000: every result in file order, each
 * file's fate its own; with three readers (what a four-core machine gets), then with this machine's
 * default. */
static void test_import_many_files(void **state)
{
	enum { N = 2500 };
	char dir[256], path[300], err[512], *files[N + 2], uuid[40];
	struct said *said = calloc(1, sizeof(*said));
	struct compatdb *db;
	FILE *f;

	(void)state;
	db = db_new(dir, path);
	char first[300];
	snprintf(first, sizeof(first), "%s/m0000.json", dir);
	write_envelope(first, "intel-vtx-nested", "host-m", "00000000-0000-4000-8000-000000000000");
	f = fopen(first, "r");
	static char doc[1 << 20];
	size_t len = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[len] = '\0';
	char *at = strstr(doc, "00000000-0000-4000-8000-000000000000");
	for (int i = 0; i < N; i++) {
		files[i] = malloc(300);
		snprintf(files[i], 300, "%s/m%04d.json", dir, i);
		snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012d", i);
		memcpy(at, uuid, 36);
		f = fopen(files[i], "w");
		if (i == 1234)	/* one broken file in the middle of the second batch */
			fputs("{\"nestvisor_report\":1,", f);
		else
			fputs(doc, f);
		fclose(f);
	}
	files[N] = files[7];		/* the same file twice: already there */
	files[N + 1] = "/nonexistent/report.json";
	setenv("NESTVISOR_IMPORT_READERS", "3", 1);
	assert_int_equal(
		compatdb_report_import_files(db, N + 2, files, heard, said, err, sizeof(err)), 2);
	unsetenv("NESTVISOR_IMPORT_READERS");
	assert_int_equal(said->n, N + 2);
	assert_int_equal(said->imported, N - 1);
	assert_int_equal(said->already, 1);
	assert_int_equal(said->refused, 2);
	assert_non_null(strstr(said->why, "/nonexistent/report.json"));
	assert_string_equal(said->order[0], "m0000.j");
	assert_string_equal(said->order[1234], "m1234.j");
	assert_string_equal(said->order[N], "m0007.j");
	assert_int_equal(count(db, "reports"), N - 1);
	/* again: all of them already there, nothing added */
	memset(said, 0, sizeof(*said));
	assert_int_equal(compatdb_report_import_files(db, N, files, heard, said, err, sizeof(err)),
			 1);
	assert_int_equal(said->already, N - 1);
	assert_int_equal(count(db, "reports"), N - 1);
	compatdb_close(db);
	for (int i = 0; i < N; i++)
		free(files[i]);
	free(said);
	test_sh("rm -rf '%s'", dir);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_host_id_cached),
	cmocka_unit_test(test_report_show),
	cmocka_unit_test(test_seen_again),
	cmocka_unit_test(test_migration_keeps_reports),
	cmocka_unit_test(test_passthrough_outcomes),
	cmocka_unit_test(test_record_export_import),
	cmocka_unit_test(test_device_knowledge_across_hosts),
	cmocka_unit_test(test_hostile_reports_refused),
	cmocka_unit_test(test_url_password_hidden),
	cmocka_unit_test(test_import_many_files),
	cmocka_unit_test(test_newer_and_corrupt_files_untouched),
};
TEST_MAIN(tests)
