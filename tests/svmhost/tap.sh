# tap.sh: TAP helpers for the scripts that run inside the test host (sourced; busybox sh).
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
# check DESCRIPTION COMMAND...: one TAP line for the command's success; its status is the command's
check() {
	d=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; return 1; fi
}
# diag FILE [LINES]: the file's last lines as TAP comments, for a failure's context.
diag() { tail -n "${2:-20}" "$1" 2>/dev/null | sed 's/^/#   /'; }
