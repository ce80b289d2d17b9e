/* text: UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF) and control
 * stripping. */
#include "config.h"
#include <stdint.h>
#include <string.h>
#include "common/text.h"

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	uint32_t c;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
	} else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff) || (c >= 0x80 && c <= 0x9f))
		return 0;	/* overlong, out of range, a surrogate, or a C1 control */
	return n;
}

static bool control(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f;
}

bool text_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;
	bool changed = false;

	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0 || (n == 1 && control(*p))) {
			*p++ = '?';
			changed = true;
		} else {
			p += n;
		}
	}
	return changed;
}

bool text_is_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0 || (n == 1 && control(*p)))
			return false;
		p += n;
	}
	return true;
}

bool text_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		size_t k = *p ? utf8_len(p) : 0;
		if (k == 0 && *p >= 0x80 && p[0] == 0xc2 && p + 1 < end && p[1] >= 0x80 &&
		    p[1] <= 0x9f)
			k = 2;	/* a C1 control is valid UTF-8, only not printable */
		if (k == 0 || (size_t)(end - p) < k)
			return false;
		p += k;
	}
	return true;
}
