/* tui: the ncurses interface (public API): one screen per task, driven by the probe, vmm and
 * compat-db libraries; it never re-implements them. */
#ifndef NESTVISOR_TUI_H
#define NESTVISOR_TUI_H

struct tui_options {
	const char *replay_dir;		/* probe a recording instead of this host */
};

/* Runs until the user quits; 0, or -errno when the terminal cannot be used. */
int tui_main(const struct tui_options *opt);

#endif
