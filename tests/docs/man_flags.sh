#!/bin/sh
# Every flag stadiond --help lists is documented in stadiond(8), and the man
# page documents no flag stadiond does not have.
set -eu
man="$abs_top_srcdir/docs/stadiond.8"
help_flags=$("$STADIOND" --help | sed -n 's/^  --\([a-z_]*\).*/\1/p' | grep -v '^help$' | sort -u)
# In roff a flag is written \-\-name.
man_flags=$(grep -o '\\-\\-[a-z_]*' "$man" | sed 's/^\\-\\-//; s/^disable_//' | grep -v '^\(help\|version\|flag\)$' | sort -u)
status=0
for f in $help_flags; do
	echo "$man_flags" | grep -qx "$f" || { echo "FAIL: --$f is in --help but not in docs/stadiond.8"; status=1; }
done
for f in $man_flags; do
	echo "$help_flags" | grep -qx "$f" || { echo "FAIL: docs/stadiond.8 documents --$f, which stadiond does not have"; status=1; }
done
[ "$status" -eq 0 ] && echo "PASS: $(echo "$help_flags" | wc -l) flags documented"
exit "$status"
