/* text: strings from outside (a recording, a device's driver name, a socket's reply) made safe to
 * print on a terminal and to store as JSON text: valid UTF-8, no control characters. */
#ifndef NESTVISOR_COMMON_TEXT_H
#define NESTVISOR_COMMON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* In place: every byte of an invalid UTF-8 sequence, every C0 control but tab and newline, DEL and
 * every C1 control (U+0080-U+009F) becomes '?'. Returns whether anything changed. */
bool text_clean(char *s);
/* Whether s is valid UTF-8 with no control characters but tab and newline (what text_clean leaves
 * alone). */
bool text_is_clean(const char *s);

/* Whether s (n bytes, NULs not allowed) is valid UTF-8; controls are allowed (JSON text may hold
 * them). */
bool text_utf8_valid(const char *s, size_t n);

#endif
