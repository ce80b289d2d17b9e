/* class-rules: PCI class rules (generated from data/class-rules.tsv), shared by probe/ and
 * compat-db/. */
#ifndef NESTVISOR_CLASS_RULES_H
#define NESTVISOR_CLASS_RULES_H

#include <stdint.h>

struct class_rule {
	uint8_t base;
	int sub;			/* -1: any subclass */
	const char *name, *alternative, *note;
};

extern const struct class_rule class_rules[];
extern const int class_rules_count;

/* The first rule matching a 16-bit class code (base << 8 | sub), or NULL. */
static inline const struct class_rule *class_rule_for(uint16_t cls)
{
	for (int i = 0; i < class_rules_count; i++)
		if (class_rules[i].base == cls >> 8 &&
		    (class_rules[i].sub < 0 || class_rules[i].sub == (cls & 0xff)))
			return &class_rules[i];
	return 0;
}

#endif
