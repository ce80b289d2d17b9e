# class-rules.awk: turns data/class-rules.tsv into a C table (the TSV stays the source of truth).
BEGIN { FS = "\t"; print "/* Generated from data/class-rules.tsv by data/class-rules.awk: edit the TSV, not this file. */"
	print "#include \"data/class-rules.h\"\n"; print "const struct class_rule class_rules[] = {" }
/^#/ || NF < 4 { next }
{
	for (i = 3; i <= 5; i++) gsub(/["\\]/, "\\\\&", $i)
	printf "\t{ 0x%s, %s, \"%s\", \"%s\", \"%s\" },\n", $1, $2 == "*" ? "-1" : "0x" $2, $3, $4, $5
}
END { print "};"; print "const int class_rules_count = sizeof(class_rules) / sizeof(class_rules[0]);" }
