/* kvm probe: the KVM module and its parameters, /dev/kvm, capabilities, and the functional check.
 */
#include "config.h"
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe/backend.h"
#include "probe/facts.h"
#include "probe/kvm.h"
#include "probe/recfile.h"

#define KVM_JSON_MAX (256 * 1024)

/* Which module provides /dev/kvm, most specific first. */
static const char *const kvm_modules[] = { "kvm_intel", "kvm_amd", "kvm_pvm" };

struct param_ctx { struct probe_backend *be; struct probe_kvm *kvm; const char *module; };

static int param_one(const char *name, void *ctx)
{
	struct param_ctx *pc = ctx;
	struct probe_kvm_param *p;
	char path[512];

	if (pc->kvm->nparams >= PROBE_KVM_MAX_PARAMS)
		return 0;
	p = &pc->kvm->params[pc->kvm->nparams];
	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", pc->module, name);
	if (probe_read(pc->be, path, p->value, sizeof(p->value)) < 0)
		return 0;	/* write-only or vanished parameter */
	recfile_trim(p->value);
	snprintf(p->name, sizeof(p->name), "%s", name);
	pc->kvm->nparams++;
	return 0;
}

void probe_kvm_collect_sysfs(struct probe_backend *be, struct probe_kvm *kvm)
{
	char path[128];

	kvm->kvm_builtin_or_loaded = probe_exists(be, "/sys/module/kvm");
	for (size_t i = 0; i < sizeof(kvm_modules) / sizeof(kvm_modules[0]); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", kvm_modules[i]);
		if (!probe_exists(be, path))
			continue;
		snprintf(kvm->module, sizeof(kvm->module), "%s", kvm_modules[i]);
		struct param_ctx pc = { be, kvm, kvm_modules[i] };
		snprintf(path, sizeof(path), "/sys/module/%s/parameters", kvm_modules[i]);
		probe_list(be, path, param_one, &pc);
		break;
	}
}

/* After the query: the recording keeps what /dev/kvm said. */
void probe_kvm_save(struct probe_backend *be, const struct probe_kvm *kvm)
{
	if (be->save[0]) {
		char *json = probe_kvm_to_json(kvm);
		if (json)
			probe_save_bytes(be, "/kvm.json", json, strlen(json));
		free(json);
	}
}

const char *probe_kvm_param(const struct probe_kvm *kvm, const char *name)
{
	for (int i = 0; i < kvm->nparams; i++)
		if (!strcmp(kvm->params[i].name, name))
			return kvm->params[i].value;
	return NULL;
}

int probe_kvm_param_bool(const struct probe_kvm *kvm, const char *name)
{
	const char *v = probe_kvm_param(kvm, name);
	int on;

	return v && recfile_parse_bool(v, &on) == 0 ? on : -1;
}

static int kvm_cap(const struct probe_kvm *kvm, const char *name)
{
	for (int i = 0; i < kvm->ncaps; i++)
		if (!strcmp(kvm->caps[i].name, name))
			return kvm->caps[i].val;
	return -1;
}

bool probe_kvm_works(const struct probe_kvm *kvm)
{
	return kvm->recorded == 0 && kvm->open_err == 0 && kvm->run_err == 0;
}

double probe_kvm_ring0_slowdown(const struct probe_kvm *kvm)
{
	if (kvm->ring0_loop_us <= 0 || kvm->native_loop_us <= 0)
		return 0;
	if (kvm->ring0_loop_us < 2 * kvm->exit_rtt_us)
		return 1;
	return (kvm->ring0_loop_us - kvm->exit_rtt_us) / kvm->native_loop_us;
}

/* A KVM without VT-x/AMD-V under it: PVM, or any module on a CPU without the extensions. */
bool probe_kvm_is_software(const struct probe_facts *f)
{
	return !strcmp(f->kvm.module, "kvm_pvm") ||
		(!f->cpu.vmx && !f->cpu.svm && f->cpu.cpuid_err == 0);
}

/* ---- kvm.json ---- */

static json_object *fact_json(const struct fact_u64 *f)
{
	char buf[32];

	if (f->err)
		return json_object_new_int(f->err);
	snprintf(buf, sizeof(buf), "0x%016llx", (unsigned long long)f->val);
	return json_object_new_string(buf);
}

char *probe_kvm_to_json(const struct probe_kvm *kvm)
{
	json_object *o = json_object_new_object(), *caps = json_object_new_object();
	json_object *msrs = json_object_new_object(), *run = json_object_new_object();
	char key[16];
	char *out;

	json_object_object_add(o, "open_err", json_object_new_int(kvm->open_err));
	if (kvm->dev_mode) {
		json_object_object_add(o, "dev_mode", json_object_new_int((int)kvm->dev_mode));
		json_object_object_add(o, "dev_gid", json_object_new_int64(kvm->dev_gid));
		json_object_object_add(o, "dev_group", json_object_new_string(kvm->dev_group));
		json_object_object_add(o, "user_in_group",
				       json_object_new_boolean(kvm->user_in_group));
	}
	json_object_object_add(o, "api_version", json_object_new_int(kvm->api_version));
	for (int i = 0; i < kvm->ncaps; i++)
		json_object_object_add(caps, kvm->caps[i].name,
				       json_object_new_int(kvm->caps[i].val));
	json_object_object_add(o, "caps", caps);
	json_object_object_add(o, "cpuid_err", json_object_new_int(kvm->cpuid_err));
	json_object_object_add(o, "cpuid_vmx", json_object_new_boolean(kvm->cpuid_vmx));
	json_object_object_add(o, "cpuid_svm", json_object_new_boolean(kvm->cpuid_svm));
	json_object_object_add(o, "cpuid_svm_edx", json_object_new_int64(kvm->cpuid_svm_edx));
	json_object_object_add(o, "feature_msr_count", json_object_new_int(kvm->nfeature_msrs));
	for (int i = 0; i < VMX_MSR_COUNT; i++) {
		snprintf(key, sizeof(key), "0x%x", VMX_MSR_BASE + i);
		json_object_object_add(msrs, key, fact_json(&kvm->feat_msr[i]));
	}
	json_object_object_add(o, "feature_msrs", msrs);
	json_object_object_add(run, "err", json_object_new_int(kvm->run_err));
	json_object_object_add(run, "detail", json_object_new_string(kvm->run_detail));
	json_object_object_add(run, "exits", json_object_new_int64(kvm->run_exits));
	json_object_object_add(run, "total_us", json_object_new_double(kvm->run_total_us));
	json_object_object_add(run, "exit_rtt_us", json_object_new_double(kvm->exit_rtt_us));
	json_object_object_add(run, "ring0_loop_us", json_object_new_double(kvm->ring0_loop_us));
	json_object_object_add(run, "native_loop_us", json_object_new_double(kvm->native_loop_us));
	json_object_object_add(o, "run", run);
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	return out;
}

/* Typed getters: a missing or mistyped member fails the whole file. */
static int get_int(json_object *o, const char *k, int64_t lo, int64_t hi, int64_t *v)
{
	json_object *m;

	if (!json_object_object_get_ex(o, k, &m) || !json_object_is_type(m, json_type_int))
		return -EINVAL;
	*v = json_object_get_int64(m);
	return *v < lo || *v > hi ? -ERANGE : 0;
}

static int get_num(json_object *o, const char *k, double *v)
{
	json_object *m;

	if (!json_object_object_get_ex(o, k, &m) ||
	    !(json_object_is_type(m, json_type_double) || json_object_is_type(m, json_type_int)))
		return -EINVAL;
	*v = json_object_get_double(m);
	return *v >= 0 && *v < 1e12 ? 0 : -ERANGE;
}

static int get_bool(json_object *o, const char *k, bool *v)
{
	json_object *m;

	if (!json_object_object_get_ex(o, k, &m) || !json_object_is_type(m, json_type_boolean))
		return -EINVAL;
	*v = json_object_get_boolean(m);
	return 0;
}

static int get_str(json_object *o, const char *k, char *buf, size_t len)
{
	json_object *m;

	if (!json_object_object_get_ex(o, k, &m) || !json_object_is_type(m, json_type_string))
		return -EINVAL;
	snprintf(buf, len, "%s", json_object_get_string(m));
	return 0;
}

static int caps_from_json(json_object *caps, struct probe_kvm *kvm)
{
	kvm->ncaps = 0;
	for (size_t i = 0; i < probe_kvm_ncaps; i++) {
		int64_t v;
		if (get_int(caps, probe_kvm_caps[i].name, 0, INT32_MAX, &v) < 0)
			continue;	/* an older recording may lack a newer capability */
		snprintf(kvm->caps[kvm->ncaps].name, sizeof(kvm->caps[0].name), "%s",
			 probe_kvm_caps[i].name);
		kvm->caps[kvm->ncaps].num = probe_kvm_caps[i].num;
		kvm->caps[kvm->ncaps++].val = (int)v;
	}
	return 0;
}

static int msrs_from_json(json_object *msrs, struct probe_kvm *kvm)
{
	for (int i = 0; i < VMX_MSR_COUNT; i++) {
		json_object *m;
		char key[16];
		uint64_t v;
		snprintf(key, sizeof(key), "0x%x", VMX_MSR_BASE + i);
		kvm->feat_msr[i].err = -ENOENT;
		if (!json_object_object_get_ex(msrs, key, &m))
			continue;
		if (json_object_is_type(m, json_type_int)) {
			int64_t e = json_object_get_int64(m);
			if (e >= 0 || e < -4095)
				return -EINVAL;
			kvm->feat_msr[i].err = (int)e;
		} else if (json_object_is_type(m, json_type_string) &&
			   recfile_parse_u64(json_object_get_string(m), &v) == 0) {
			kvm->feat_msr[i].err = 0;
			kvm->feat_msr[i].val = v;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

static int kvm_from_object(json_object *o, struct probe_kvm *kvm)
{
	json_object *caps, *msrs, *run;
	int64_t v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "caps", &caps) ||
	    !json_object_is_type(caps, json_type_object) ||
	    !json_object_object_get_ex(o, "feature_msrs", &msrs) ||
	    !json_object_is_type(msrs, json_type_object) ||
	    !json_object_object_get_ex(o, "run", &run) ||
	    !json_object_is_type(run, json_type_object))
		return -EINVAL;
	if (get_int(o, "open_err", -4095, 0, &v) < 0) return -EINVAL;
	kvm->open_err = (int)v;
	if (json_object_object_get_ex(o, "dev_mode",
				      NULL)) { /* recorded for a user without access */
		if (get_int(o, "dev_mode", 1, 07777, &v) < 0) return -EINVAL;
		kvm->dev_mode = (unsigned)v;
		if (get_int(o, "dev_gid", 0, UINT32_MAX, &v) < 0) return -EINVAL;
		kvm->dev_gid = (unsigned)v;
		if (get_str(o, "dev_group", kvm->dev_group, sizeof(kvm->dev_group)) < 0 ||
		    get_bool(o, "user_in_group", &kvm->user_in_group) < 0)
			return -EINVAL;
	}
	if (get_int(o, "api_version", -4095, 1000, &v) < 0) return -EINVAL;
	kvm->api_version = (int)v;
	if (get_int(o, "cpuid_err", -4095, 0, &v) < 0) return -EINVAL;
	kvm->cpuid_err = (int)v;
	if (get_int(o, "cpuid_svm_edx", 0, UINT32_MAX, &v) < 0) return -EINVAL;
	kvm->cpuid_svm_edx = (uint32_t)v;
	if (get_int(o, "feature_msr_count", 0, 100000, &v) < 0) return -EINVAL;
	kvm->nfeature_msrs = (int)v;
	if (get_bool(o, "cpuid_vmx", &kvm->cpuid_vmx) < 0 ||
	    get_bool(o, "cpuid_svm", &kvm->cpuid_svm) < 0)
		return -EINVAL;
	if (get_int(run, "err", -4095, 0, &v) < 0) return -EINVAL;
	kvm->run_err = (int)v;
	if (get_int(run, "exits", 0, UINT32_MAX, &v) < 0) return -EINVAL;
	kvm->run_exits = (unsigned)v;
	if (get_str(run, "detail", kvm->run_detail, sizeof(kvm->run_detail)) < 0 ||
	    get_num(run, "total_us", &kvm->run_total_us) < 0 ||
	    get_num(run, "exit_rtt_us", &kvm->exit_rtt_us) < 0)
		return -EINVAL;
	/* recordings older than the loop have neither: not measured */
	if ((json_object_object_get_ex(run, "ring0_loop_us", NULL) &&
	     get_num(run, "ring0_loop_us", &kvm->ring0_loop_us) < 0) ||
	    (json_object_object_get_ex(run, "native_loop_us", NULL) &&
	     get_num(run, "native_loop_us", &kvm->native_loop_us) < 0))
		return -EINVAL;
	caps_from_json(caps, kvm);
	return msrs_from_json(msrs, kvm);
}

int probe_kvm_from_json(const char *text, size_t len, struct probe_kvm *kvm, char *err,
			size_t errlen)
{
	struct json_tokener *tok;
	json_object *o;
	int rc;

	if (len > KVM_JSON_MAX) {
		snprintf(err, errlen, "larger than %d bytes", KVM_JSON_MAX);
		return -E2BIG;
	}
	tok = json_tokener_new_ex(16);	/* kvm.json nests 3 deep; more is hostile */
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		snprintf(err, errlen, "not valid JSON (%s)",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(o);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	rc = kvm_from_object(o, kvm);
	if (rc < 0)
		snprintf(err, errlen, "a member is missing or has the wrong type or range");
	json_object_put(o);
	return rc;
}

int probe_kvm_replay_query(struct probe_backend *be, struct probe_kvm *kvm, bool functional)
{
	static char buf[KVM_JSON_MAX + 1];
	static struct probe_kvm tmp;
	char why[128];
	long n = probe_read(be, "/kvm.json", buf, sizeof(buf));

	(void)functional;
	tmp = *kvm;	/* parse into a copy: nothing half-read survives a corrupt file */
	if (n >= 0 && probe_kvm_from_json(buf, (size_t)n, &tmp, why, sizeof(why)) == 0) {
		*kvm = tmp;
		return 0;
	}
	kvm->recorded = n < 0 ? (int)n : -EINVAL;
	kvm->run_err = -ENODATA;
	if (n < 0)
		snprintf(kvm->run_detail, sizeof(kvm->run_detail),
			 "the recording has no kvm.json (the /dev/kvm facts were not recorded)");
	else
		snprintf(kvm->run_detail, sizeof(kvm->run_detail),
			 "kvm.json in the recording is corrupt: %s", why);
	return 0;
}

/* ---- checks ---- */

static void params_evidence(const struct probe_kvm *kvm, char *buf, size_t len)
{
	static const char *const shown[] = { "nested",
					     "ept",
					     "npt",
					     "vpid",
					     "unrestricted_guest",
					     "enable_apicv",
					     "avic",
					     "enable_shadow_vmcs",
					     "pvm_native" };
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		const char *v = probe_kvm_param(kvm, shown[i]);
		int n;
		if (!v)
			continue;
		n = snprintf(buf + used, len - used, "%s%s=%s", used ? " " : "", shown[i], v);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

void probe_kvm_check_module(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_kvm *kvm = &f->kvm;
	char params[256];

	params_evidence(kvm, params, sizeof(params));
	if (!strcmp(kvm->module, "kvm_pvm"))
		probe_check_set(c, PROBE_NOTE,
				"none needed: guests run, but without VT-x/AMD-V; for full speed "
				"and nested guests use a host whose CPU exposes VT-x or AMD-V",
				"kvm_pvm (software KVM: PVM, shadow paging, no VT-x/AMD-V) "
				"loaded%s%s",
				params[0] ? "; " : "", params);
	else if (kvm->module[0])
		probe_check_set(c, PROBE_PASS, "", "%s loaded%s%s", kvm->module,
				params[0] ? "; " : "", params);
	else if (kvm->kvm_builtin_or_loaded && probe_cpu_firmware_disabled(&f->cpu))
		probe_check_set(c, PROBE_FAIL,
				"enable VT-x/SVM in the firmware setup first (see cpu.firmware): "
				"the vendor module refuses to load while it is off",
				"the kvm core module is present but no vendor module: firmware "
				"keeps %s off",
				f->cpu.vmx ? "VT-x" : "SVM");
	else if (kvm->kvm_builtin_or_loaded)
		probe_check_set(c, PROBE_WARN,
				f->cpu.vendor == CPU_VENDOR_AMD ? "modprobe kvm_amd" :
								  "modprobe kvm_intel",
				"the kvm core module is present but no vendor module (kvm_intel, "
				"kvm_amd, kvm_pvm)");
	else
		probe_check_set(c, PROBE_FAIL,
				"enable CONFIG_KVM and load kvm_intel or kvm_amd (modprobe "
				"kvm_intel)",
				"no KVM module in /sys/module (kvm, kvm_intel, kvm_amd, kvm_pvm)");
}

/* A user who may not open /dev/kvm: the fix this host allows, from the node's mode and group. */
static void dev_denied(const struct probe_kvm *kvm, struct probe_check *c)
{
	const char *e = strerror(-kvm->open_err);
	char grp[48], fix[200];

	if (kvm->dev_group[0])
		snprintf(grp, sizeof(grp), "%s", kvm->dev_group);
	else
		snprintf(grp, sizeof(grp), "id %u", kvm->dev_gid);
	if (!kvm->dev_mode)
		probe_check_set(c, PROBE_FAIL,
				"run as root, or as a user in the group that owns /dev/kvm (ls -l "
				"/dev/kvm names it)",
				"/dev/kvm exists but cannot be opened read-write: %s", e);
	else if (!(kvm->dev_mode & 0060) || !kvm->dev_group[0])
		probe_check_set(c, PROBE_FAIL,
				"run as root, or have the administrator give /dev/kvm a group "
				"(groupadd kvm, then a udev rule: KERNEL==\"kvm\", GROUP=\"kvm\", "
				"MODE=\"0660\"; QEMU's and Debian's packages install one) and add "
				"you to it",
				"/dev/kvm is mode %04o, group %s: no group may open it, only root "
				"(%s)",
				kvm->dev_mode, grp, e);
	else if (kvm->user_in_group) {
		snprintf(fix, sizeof(fix),
			 "log out and in again (or run `newgrp %s`): your login started before you "
			 "were added to %s",
			 grp, grp);
		probe_check_set(c, PROBE_FAIL, fix,
				"/dev/kvm is mode %04o, group %s, and you are in %s, but not in "
				"this login's groups (%s)",
				kvm->dev_mode, grp, grp, e);
	} else {
		snprintf(fix, sizeof(fix),
			 "add yourself to its group: sudo usermod -aG %s $USER, then log in again",
			 grp);
		probe_check_set(c, PROBE_FAIL, fix,
				"/dev/kvm is mode %04o, group %s, and you are not in %s (%s)",
				kvm->dev_mode, grp, grp, e);
	}
}

void probe_kvm_check_dev(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_kvm *kvm = &f->kvm;

	if (kvm->recorded)
		probe_check_set(c, PROBE_UNKNOWN,
				"record the host with `nestvisor probe --save DIR`", "%s",
				kvm->run_detail);
	else if (kvm->open_err == -EACCES || kvm->open_err == -EPERM)
		dev_denied(kvm, c);
	else if (kvm->open_err)
		probe_check_set(c, PROBE_FAIL,
				"load the KVM module (modprobe kvm_intel or kvm_amd) so /dev/kvm "
				"appears",
				"/dev/kvm: %s", strerror(-kvm->open_err));
	else if (kvm->api_version != 12)
		probe_check_set(c, PROBE_FAIL,
				"use a kernel whose KVM speaks API version 12 (every Linux since "
				"2.6.22)",
				"/dev/kvm answers API version %d, expected 12", kvm->api_version);
	else
		probe_check_set(c, PROBE_PASS, "",
				"/dev/kvm opened read-write; KVM_GET_API_VERSION = 12");
}

void probe_kvm_check_caps(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_kvm *kvm = &f->kvm;

	if (kvm->recorded || kvm->open_err) {
		probe_check_set(c, PROBE_UNKNOWN, "",
				"capabilities not read: /dev/kvm was not available");
		return;
	}
	for (size_t i = 0; i < probe_kvm_ncaps; i++) {
		if (probe_kvm_caps[i].required && kvm_cap(kvm, probe_kvm_caps[i].name) <= 0) {
			probe_check_set(c, PROBE_FAIL,
					"use a newer kernel: nestvisor's VMM needs this capability",
					"%s missing (KVM_CHECK_EXTENSION %d returned 0)",
					probe_kvm_caps[i].name, probe_kvm_caps[i].num);
			return;
		}
	}
	int required = 0;
	for (size_t i = 0; i < probe_kvm_ncaps; i++)
		required += probe_kvm_caps[i].required;
	probe_check_set(c, PROBE_PASS, "",
			"all %d required capabilities present; vCPUs: %d recommended, %d max; "
			"memory slots: %d",
			required, kvm_cap(kvm, "KVM_CAP_NR_VCPUS"),
			kvm_cap(kvm, "KVM_CAP_MAX_VCPUS"), kvm_cap(kvm, "KVM_CAP_NR_MEMSLOTS"));
}

void probe_kvm_check_run(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_kvm *kvm = &f->kvm;
	double slow = probe_kvm_ring0_slowdown(kvm);
	char loop[160] = "";

	if (slow == 1)
		snprintf(loop, sizeof(loop),
			 "kernel-mode code at native speed (%d loop iterations, %.1f us on this "
			 "CPU, hidden within one exit's time in the guest)",
			 PROBE_KVM_LOOP, kvm->native_loop_us);
	else if (slow > 0)
		snprintf(loop, sizeof(loop),
			 "kernel-mode code %.0f times slower than natively (%d loop iterations: "
			 "%.1f us in the guest, %.1f us on this CPU)%s",
			 slow, PROBE_KVM_LOOP, kvm->ring0_loop_us - kvm->exit_rtt_us,
			 kvm->native_loop_us, slow >= 10 ? ", so emulated" : "");

	if (kvm->recorded || kvm->run_err == -ECANCELED || kvm->run_err == -ENODEV)
		probe_check_set(c, PROBE_UNKNOWN, kvm->run_err == -ENODEV ? "see kvm.dev" : "",
				"%s", kvm->run_detail);
	else if (kvm->run_err)
		probe_check_set(c, PROBE_FAIL,
				"check `dmesg` for KVM errors; report it with `nestvisor probe "
				"--save DIR`",
				"a tiny guest did not run: %s", kvm->run_detail);
	else
		probe_check_set(
			c, probe_kvm_is_software(f) ? PROBE_NOTE : PROBE_PASS,
			probe_kvm_is_software(f) ? "none needed: guest user code runs natively, "
						   "guest kernel code is emulated (slow) on a "
						   "software KVM" :
						   "",
			"%s in %.2f ms; one exit to userspace and back: %.2f us (%u exits)%s%s%s",
			kvm->run_detail, kvm->run_total_us / 1000.0, kvm->exit_rtt_us,
			kvm->run_exits, loop[0] ? "; " : "", loop,
			probe_kvm_is_software(f) ? "; software KVM: works without VT-x/AMD-V" : "");
}
