#!/usr/bin/env bash
# The embedded symbol table is only right if no text symbol moved between the two links.
set -euo pipefail
nm=$1 pass1=$2 final=$3
a=$("$nm" -n --defined-only "$pass1" | awk '$2 ~ /^[tT]$/')
b=$("$nm" -n --defined-only "$final" | awk '$2 ~ /^[tT]$/')
if [ "$a" != "$b" ]; then
    echo "ksyms: text symbols moved between links; backtraces would lie" >&2
    exit 1
fi
