/* crt: every curses call lives here (htop's CRT): colors by role, key reading, terminal restore. */
#ifndef NESTVISOR_TUI_CRT_H
#define NESTVISOR_TUI_CRT_H

#include <stdbool.h>

enum crt_role {
	ROLE_DEFAULT,
	ROLE_HEADER,
	ROLE_TAB,
	ROLE_TAB_ACTIVE,
	ROLE_SELECTED,
	ROLE_PASS,
	ROLE_NOTE,
	ROLE_WARN,
	ROLE_FAIL,
	ROLE_UNKNOWN,
	ROLE_FKEY,
	ROLE_FKEY_LABEL,
	ROLE_DIM,
	ROLE_COUNT
};

#define CRT_MIN_COLS 80
#define CRT_MIN_ROWS 24

int crt_init(void);
void crt_done(void);
void crt_raw(bool on);
void crt_size(int *rows, int *cols);
bool crt_too_small(void);
/* Draws text at (y, x) in a role, clipped to width (0: to the edge). */
void crt_text(int y, int x, enum crt_role role, int width, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void crt_fill(int y, enum crt_role role);
void crt_clear(void);
void crt_refresh(void);
/* A key (the mouse wheel as Up/Down), KEY_MOUSE with the click's place, KEY_RESIZE, or -1 after
 * timeout_ms. */
int crt_key(int timeout_ms, int *mouse_y, int *mouse_x);

#endif
