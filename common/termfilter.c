/* termfilter: ECMA-48's escape sequences read as a terminal would, each passed or dropped whole. */
#include "config.h"
#include <string.h>
#include "common/termfilter.h"

enum { TEXT, ESC, CSI, STR, STR_ESC };

#define C_ESC 0x1b
#define C_BEL 0x07

static void keep(struct termfilter *f, char c)
{
	if (f->len < sizeof(f->seq))
		f->seq[f->len++] = c;
	else
		f->overflow = true;
}

static size_t put_seq(struct termfilter *f, char *out, bool pass)
{
	size_t n = 0;

	if (pass && !f->overflow) {
		memcpy(out, f->seq, f->len);
		n = f->len;
	} else {
		f->dropped++;
	}
	f->len = 0;
	f->overflow = false;
	f->state = TEXT;
	return n;
}

/* CSI: the queries (DSR n, DA c, DECREQTPARM x, window ops and reports t, DECRQM $p, XTVERSION >q,
 * the keyboard protocol's ?u) are dropped. */
static bool csi_allowed(const struct termfilter *f, char final)
{
	const char *p = f->seq + 2, *end = f->seq + f->len - 1;
	bool dollar = memchr(p, '$', (size_t)(end - p)) != NULL,
	     gt = memchr(p, '>', (size_t)(end - p)) != NULL,
	     question = memchr(p, '?', (size_t)(end - p)) != NULL;

	if (strchr("nctx", final))
		return false;
	if (final == 'p' && dollar)
		return false;
	if (final == 'q' && (gt || dollar))
		return false;
	return !(final == 'u' && question);
}

/* OSC: 52 (the clipboard), 50 (fonts), and any that asks ("?" as a parameter: colours, 4;N;?,
 * 10;?...) are dropped; titles, links and the rest pass. DCS, PM and APC are dropped whole
 * (DECRQSS, XTGETTCAP, and nothing a serial console needs). */
static bool string_allowed(const struct termfilter *f)
{
	char body[TERMFILTER_SEQ_MAX + 1];
	size_t n = f->len - 2;	/* past ESC ] */

	if (f->kind != ']')
		return false;
	memcpy(body, f->seq + 2, n);
	body[n] = '\0';
	long num = 0;
	size_t i = 0;
	while (i < n && body[i] >= '0' && body[i] <= '9' && num < 100000)
		num = num * 10 + (body[i++] - '0');
	if (num == 52 || num == 50)
		return false;
	for (char *q = strchr(body, '?'); q; q = strchr(q + 1, '?'))
		if (q > body && q[-1] == ';' && (q[1] == '\0' || q[1] == ';' || q[1] == C_BEL ||
						  q[1] == C_ESC))
			return false;
	return true;
}

static size_t step(struct termfilter *f, char c, char *out);

static size_t in_text(struct termfilter *f, char c, char *out)
{
	if (c == C_ESC) {
		f->state = ESC;
		keep(f, c);
		return 0;
	}
	out[0] = c;
	return 1;
}

static size_t in_esc(struct termfilter *f, char c, char *out)
{
	unsigned char u = (unsigned char)c;

	if (c == '[') {
		keep(f, c);
		f->state = CSI;
		return 0;
	}
	if (c == ']' || c == 'P' || c == '^' || c == '_') {
		keep(f, c);
		f->kind = c;
		f->state = STR;
		return 0;
	}
	if (c == 'Z') {		/* DECID: the terminal answers it as DA */
		keep(f, c);
		return put_seq(f, out, false);
	}
	if (u >= 0x20 && u <= 0x2f) {	/* an intermediate (ESC ( B) */
		keep(f, c);
		return 0;
	}
	if (u >= 0x30 && u <= 0x7e) {
		keep(f, c);
		return put_seq(f, out, true);
	}
	/* anything else ends it unfinished: what came so far goes, the byte is read anew */
	size_t n = put_seq(f, out, true);
	return n + step(f, c, out + n);
}

static size_t in_csi(struct termfilter *f, char c, char *out)
{
	unsigned char u = (unsigned char)c;

	if (u >= 0x20 && u <= 0x3f) {
		keep(f, c);
		return 0;
	}
	if (u >= 0x40 && u <= 0x7e) {
		keep(f, c);
		return put_seq(f, out, csi_allowed(f, c));
	}
	/* a control or a byte no CSI holds: the sequence is broken, dropped; the byte read anew */
	size_t n = put_seq(f, out, false);
	return n + step(f, c, out + n);
}

static size_t in_string(struct termfilter *f, char c, char *out)
{
	if (f->state == STR_ESC) {
		if (c == '\\') {
			keep(f, c);
			return put_seq(f, out, string_allowed(f));
		}
		size_t n = put_seq(f, out, false);	/* unterminated: dropped */
		f->state = ESC;
		keep(f, C_ESC);
		return n + step(f, c, out + n);
	}
	if (c == C_ESC) {
		keep(f, c);
		f->state = STR_ESC;
		return 0;
	}
	if (c == C_BEL) {
		keep(f, c);
		return put_seq(f, out, string_allowed(f));
	}
	if (c == 0x18 || c == 0x1a)	/* CAN, SUB: the string is cancelled */
		return put_seq(f, out, false);
	keep(f, c);
	return 0;
}

static size_t step(struct termfilter *f, char c, char *out)
{
	switch (f->state) {
	case ESC: return in_esc(f, c, out);
	case CSI: return in_csi(f, c, out);
	case STR:
	case STR_ESC: return in_string(f, c, out);
	default: return in_text(f, c, out);
	}
}

size_t termfilter_feed(struct termfilter *f, const char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		o += step(f, in[i], out + o);
	return o;
}
