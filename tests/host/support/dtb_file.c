/* Loads compiled test device trees for host tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "support/dtb_file.h"

void *dtb_load(const char *name, unsigned slack)
{
    char path[256];
    FILE *f;
    long len;
    void *buf;

    snprintf(path, sizeof(path), "build/host/dts/%s.dtb", name);
    f = fopen(path, "rb");
    if (!f) {
        fail_msg("cannot open %s (run from the repo root, after make host-tests)", path);
    }
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)len + slack);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return buf;
}
