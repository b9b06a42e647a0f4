/*
 * bulkhead-check-config: the hypervisor's configuration checks, run on the host over a DTB
 * (`make check-config DTB=file.dtb`). The checks are config/'s own (config/check.c runs them, as
 * the hypervisor does at boot); this file reads the file and the options, prints what they say
 * and counts it.
 *
 *   bulkhead-check-config [--dtb-addr ADDR] [--hyp ADDR+SIZE] [--bundle FILE.cpio
 *                         [--initrd-addr ADDR]] FILE.dtb
 *
 * Exit status: 0 without errors (warnings alone: 0), 1 with errors, 2 if FILE cannot be read or
 * is not a device tree (or the command line is wrong).
 */
#include <errno.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulkhead/check.h"
#include "bulkhead/printk.h"

#define MAX_DTB (64u << 20)

static unsigned nr_errors, nr_warnings;
static bool at_line_start = true;

/* The parsers' console: stdout, with the error and warning lines counted. */
void printk(const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (at_line_start) {
        nr_errors += strncmp(line, "error: ", 7) == 0;
        nr_warnings += strncmp(line, "warning: ", 9) == 0;
    }
    size_t len = strlen(line);
    at_line_start = len > 0 && line[len - 1] == '\n';
    fputs(line, stdout);
}

/* The host has no boot module in memory, only the DTB: Xen's partial device trees are not read. */
const void *check_module_contents(const struct vm_module *m)
{
    (void)m;
    return NULL;
}

static int usage(const char *why)
{
    fprintf(
        stderr,
        "bulkhead-check-config: %s\n"
        "usage: bulkhead-check-config [--dtb-addr ADDR] [--hyp ADDR+SIZE] [--bundle FILE.cpio\n"
        "                             [--initrd-addr ADDR]] FILE.dtb\n"
        "  --dtb-addr  where the boot loader puts the DTB (the hypervisor's x0); default: where\n"
        "              QEMU virt puts it, RAM + min(RAM / 2, 128 MiB), after the bundle if any\n"
        "  --hyp       the hypervisor's footprint; default: RAM + 0x%x, 0x%x bytes\n"
        "  --bundle    a bundle loaded as the initramfs (docs/CONFIG.md), its VMs checked too\n"
        "  --initrd-addr  where the boot loader puts it; default: RAM + min(RAM / 2, 128 MiB)\n",
        why, CHECK_HYP_OFFSET, CHECK_HYP_SIZE);
    return 2;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;

    errno = 0;
    *v = strtoull(s, &end, 0);
    return *s && !*end && errno == 0;
}

static bool parse_range(const char *s, struct mem_range *r)
{
    char copy[64];
    char *plus;

    if (strlen(s) >= sizeof(copy)) {
        return false;
    }
    strcpy(copy, s);
    plus = strchr(copy, '+');
    if (!plus) {
        return false;
    }
    *plus = '\0';
    return parse_u64(copy, &r->base) && parse_u64(plus + 1, &r->size) && r->size;
}

/* The whole file (at most MAX_DTB bytes); NULL after saying why not. */
static void *read_file(const char *path, uint64_t *size)
{
    FILE *f = fopen(path, "rb");
    void *buf = malloc(MAX_DTB);
    size_t n = 0;

    if (f && buf) {
        n = fread(buf, 1, MAX_DTB, f);
    }
    if (!f || !buf || n == MAX_DTB) {
        fprintf(stderr, "bulkhead-check-config: %s: %s\n", path,
                !f ? strerror(errno) : "larger than 64 MiB");
        free(buf);
        buf = NULL;
    }
    if (f) {
        fclose(f);
    }
    *size = n;
    return buf;
}

static void *read_dtb(const char *path)
{
    FILE *f = fopen(path, "rb");
    void *buf = malloc(MAX_DTB);
    size_t n = 0;

    if (f && buf) {
        n = fread(buf, 1, MAX_DTB, f);
    }
    if (f) {
        fclose(f);
    }
    if (!f || !buf || n < sizeof(struct fdt_header) || fdt_check_header(buf) != 0 ||
        fdt_totalsize(buf) > n) {
        fprintf(stderr, "bulkhead-check-config: %s: %s\n", path,
                !f ? strerror(errno) : "not a device tree blob");
        free(buf);
        return NULL;
    }
    return buf;
}

int main(int argc, char **argv)
{
    struct check_options opt = {0};
    const char *file = NULL, *bundle = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dtb-addr") == 0 && i + 1 < argc) {
            if (!parse_u64(argv[++i], &opt.dtb_addr) || !opt.dtb_addr) {
                return usage("--dtb-addr wants an address");
            }
        } else if (strcmp(argv[i], "--hyp") == 0 && i + 1 < argc) {
            if (!parse_range(argv[++i], &opt.hyp)) {
                return usage("--hyp wants ADDR+SIZE");
            }
        } else if (strcmp(argv[i], "--bundle") == 0 && i + 1 < argc) {
            bundle = argv[++i];
        } else if (strcmp(argv[i], "--initrd-addr") == 0 && i + 1 < argc) {
            if (!parse_u64(argv[++i], &opt.initrd_addr) || !opt.initrd_addr) {
                return usage("--initrd-addr wants an address");
            }
        } else if (argv[i][0] == '-' || file) {
            return usage(strcmp(argv[i], "--help") == 0 ? "checks a Bulkhead configuration"
                                                        : "unexpected argument");
        } else {
            file = argv[i];
        }
    }
    if (!file) {
        return usage("no DTB given");
    }
    void *fdt = read_dtb(file);
    void *initrd = NULL;
    if (!fdt || (bundle && !(initrd = read_file(bundle, &opt.initrd_size)))) {
        free(fdt);
        return 2;
    }
    opt.initrd = initrd;
    printf("checking %s\n", file);
    int vms = check_config(fdt, &opt);
    printf("%s: %u error%s, %u warning%s; %d VM%s would start\n", file, nr_errors,
           nr_errors == 1 ? "" : "s", nr_warnings, nr_warnings == 1 ? "" : "s", vms < 0 ? 0 : vms,
           vms == 1 ? "" : "s");
    free(fdt);
    free(initrd);
    return nr_errors ? 1 : 0;
}
