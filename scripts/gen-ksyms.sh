#!/usr/bin/env bash
# Emits .ksyms: the hypervisor's text symbols, sorted, as offsets from the image base plus names.
set -euo pipefail
nm=$1 elf=$2
syms=$("$nm" -n --defined-only "$elf" | awk '$2 ~ /^[tTwW]$/ && $3 !~ /^\$/ { print $1, $3 }')
count=$(printf '%s\n' "$syms" | grep -c . || true)
echo '.section .ksyms,"a"'
echo '.balign 8'
echo '.global ksyms_count'
echo "ksyms_count: .quad $count"
echo '.global ksyms_table'
echo 'ksyms_table:'
i=0
printf '%s\n' "$syms" | while read -r addr name; do
    echo ".quad 0x$addr, ksym_name_$i - ksyms_table"
    i=$((i + 1))
done
i=0
printf '%s\n' "$syms" | while read -r addr name; do
    echo "ksym_name_$i: .asciz \"$name\""
    i=$((i + 1))
done
