/* termfilter: a guest's console output on the user's own terminal, with the sequences a guest
 * must not send there taken out: OSC 52 (writing the clipboard), and the queries whose answers the
 * terminal types back into the input, which goes to the guest (DSR, DA, DECID, DECRQSS and other
 * DCS strings, DECRQM, XTVERSION, window and colour reports, font queries). Everything else passes
 * as the guest sent it: text, colours, cursor movement, titles, line drawing. A stream filter: a
 * sequence split across two reads is judged whole. */
#ifndef NESTVISOR_COMMON_TERMFILTER_H
#define NESTVISOR_COMMON_TERMFILTER_H

#include <stdbool.h>
#include <stddef.h>

#define TERMFILTER_SEQ_MAX 512	/* a longer escape sequence is dropped whole */

struct termfilter {
	int state;
	char kind; /* the string's introducer: ']' OSC, 'P' DCS, '^' PM, '_' APC */
	bool overflow;
	size_t len;
	char seq[TERMFILTER_SEQ_MAX];	/* the sequence being read, ESC first */
	unsigned long dropped;		/* sequences taken out so far */
};

/* n bytes in; what may reach the terminal into out (room for n + TERMFILTER_SEQ_MAX bytes), its
 * length returned. Start from a zeroed struct. */
size_t termfilter_feed(struct termfilter *f, const char *in, size_t n, char *out);

#endif
