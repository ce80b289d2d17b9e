#!/usr/bin/env python3
"""fit-width: brings the given C files under 100 columns (tabs as 8) while leaving every line that fits as
it was written. A statement with a long line has its adjacent string literals joined first (not SQL's, which keeps a clause a line), so that
clang-format (.clang-format) splits each message once at a word break instead of in fragments; then only
the long lines are reflowed. Lines holding a nested ?: are left for a person. Prints what is left over."""
import re, subprocess, sys

def width(line):
    return len(line.expandtabs(8))

NESTED = re.compile(r' \? .* \? ')
# SQL keeps its breaks between clauses: joining it would make one paragraph of a query
SQL = re.compile(r'"[^"]*\b(SELECT|CREATE TABLE|INSERT INTO|DELETE FROM|UPDATE|WHERE|UNION|GROUP BY|ORDER BY)\b')

def statement_span(lines, i):
    """The lines of the statement holding line i: back to the line after one ending in ; { } or a
    label, forward to the one ending in ; or {."""
    a = i
    while a > 0 and not re.search(r'[;{}:]\s*(/\*.*\*/)?\s*$', lines[a - 1]) and lines[a - 1].strip():
        a -= 1
    b = i
    while b < len(lines) - 1 and not re.search(r'[;{}]\s*(/\*.*\*/)?\s*$', lines[b]):
        b += 1
    return a, b

def join_literals(lines, a, b):
    """Joins "...."\\n<indent>"...." within lines a..b (not in comments)."""
    out = lines[:a]
    cur = lines[a]
    for j in range(a + 1, b + 1):
        nxt = lines[j]
        if re.search(r'"\s*$', cur) and re.match(r'^\s*"', nxt) and not cur.lstrip().startswith(('*', '/*', '//')):
            cur = re.sub(r'"\s*$', '', cur) + re.sub(r'^\s*"', '', nxt)
        else:
            out.append(cur)
            cur = nxt
    out.append(cur)
    return out + lines[b + 1:]

for path in sys.argv[1:]:
    lines = open(path).read().split('\n')
    i = 0
    while i < len(lines):
        if width(lines[i]) > 100 and not NESTED.search(lines[i]) and not lines[i].lstrip().startswith(('#', '*', '/*')):
            a, b = statement_span(lines, i)
            if not any(NESTED.search(l) or SQL.search(l) for l in lines[a:b + 1]):
                n = len(lines)
                lines = join_literals(lines, a, b)
                i = b - (n - len(lines))
        i += 1
    open(path, 'w').write('\n'.join(lines))
    ranges = ['--lines=%d:%d' % (k + 1, k + 1) for k, l in enumerate(lines) if width(l) > 100 and not NESTED.search(l)]
    if ranges:
        subprocess.run(['clang-format', '-i'] + ranges + [path], check=True)
for path in sys.argv[1:]:
    for k, l in enumerate(open(path).read().split('\n')):
        if width(l) > 100:
            print('%s:%d: %d columns' % (path, k + 1, width(l)))
