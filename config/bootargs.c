/*
 * The hypervisor's own command line (/chosen/bootargs): the "bulkhead.*" options that change the
 * defaults of VMs described without sizes. Every other token belongs to someone else (or to
 * nobody) and is ignored.
 */
#include "bulkhead/check.h"
#include "bulkhead/config.h"
#include "bulkhead/layout.h"
#include "bulkhead/printk.h"
#include "bulkhead/string.h"

#define TOKEN_MSG_LEN 64 /* how much of a bad token an error message quotes */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

/*
 * Parses all of [s, end) as an unsigned number: decimal, or hex with "0x". Our strtoull has no
 * overflow detection, hence our own. Returns false if anything else is there or it overflows.
 */
static bool parse_number(const char *s, const char *end, uint64_t *val)
{
    unsigned base = 10;
    uint64_t v = 0;

    if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (s == end) {
        return false;
    }
    for (; s < end; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9') {
            d = (unsigned)(*s - '0');
        } else if (base == 16 && *s >= 'a' && *s <= 'f') {
            d = (unsigned)(*s - 'a' + 10);
        } else if (base == 16 && *s >= 'A' && *s <= 'F') {
            d = (unsigned)(*s - 'A' + 10);
        } else {
            return false;
        }
        if (v > (UINT64_MAX - d) / base) {
            return false;
        }
        v = v * base + d;
    }
    *val = v;
    return true;
}

/* A size: a number with an optional K, M or G suffix (either case). */
static bool parse_size(const char *s, const char *end, uint64_t *size)
{
    unsigned shift = 0;

    if (end > s) {
        switch (end[-1]) {
        case 'k':
        case 'K': shift = 10; break;
        case 'm':
        case 'M': shift = 20; break;
        case 'g':
        case 'G': shift = 30; break;
        default: break;
        }
    }
    if (shift) {
        end--;
    }
    if (!parse_number(s, end, size) || *size > (UINT64_MAX >> shift)) {
        return false;
    }
    *size <<= shift;
    return true;
}

static void token_err(const char *token, const char *end, const char *why)
{
    char copy[TOKEN_MSG_LEN];
    size_t len = (size_t)(end - token);

    /* Our printf has no "%.*s": quote a terminated copy. */
    if (len >= sizeof(copy)) {
        len = sizeof(copy) - 1;
    }
    memcpy(copy, token, len);
    copy[len] = '\0';
    pr_err("bootargs: \"%s\": %s\n", copy, why);
}

/* If [token, end) is "key=...", returns where the value starts, else NULL. */
static const char *option_value(const char *token, const char *end, const char *key)
{
    size_t len = strlen(key);

    if ((size_t)(end - token) > len && memcmp(token, key, len) == 0 && token[len] == '=') {
        return token + len + 1;
    }
    return NULL;
}

/* A "bulkhead." option nobody knows: the one it is nearly, if any, else the list. */
static void unknown_option(const char *token, const char *end)
{
    static const char *const known[] = {"bulkhead.vm-memory", "bulkhead.vm-cpus",
                                        "bulkhead.on-crash", "bulkhead.selftest", "bulkhead.gdb"};
    char key[TOKEN_MSG_LEN], why[TOKEN_MSG_LEN + 32];
    size_t len = 0;

    while (token + len < end && token[len] != '=' && len < sizeof(key) - 1) {
        key[len] = token[len];
        len++;
    }
    key[len] = '\0';
    const char *near = check_did_you_mean(key, known, ARRAY_SIZE(known));
    if (near) {
        snprintf(why, sizeof(why), "unknown option; did you mean %s?", near);
        token_err(token, end, why);
    } else {
        token_err(token, end,
                  "unknown option; the hypervisor knows bulkhead.vm-memory, bulkhead.vm-cpus, "
                  "bulkhead.on-crash, bulkhead.selftest and bulkhead.gdb");
    }
}

static int parse_token(const char *token, const char *end, struct vm_defaults *defaults)
{
    const char *value;
    uint64_t v;

    if ((value = option_value(token, end, "bulkhead.vm-memory"))) {
        if (!parse_size(value, end, &v) || v == 0) {
            token_err(token, end, "not a size (a number with an optional K, M or G suffix)");
            return -1;
        }
        if (!IS_ALIGNED(v, VM_RAM_ALIGN)) {
            token_err(token, end, "VM memory must be a multiple of 2M");
            return -1;
        }
        defaults->mem_size = v;
    } else if ((value = option_value(token, end, "bulkhead.vm-cpus"))) {
        if (!parse_number(value, end, &v) || v < 1 || v > MAX_VCPUS) {
            char why[48];
            snprintf(why, sizeof(why), "not a vCPU count from 1 to %d", MAX_VCPUS);
            token_err(token, end, why);
            return -1;
        }
        defaults->nr_vcpus = (unsigned)v;
    } else if ((value = option_value(token, end, "bulkhead.on-crash"))) {
        if (!vm_crash_policy_parse(value, (size_t)(end - value), &defaults->on_crash)) {
            token_err(token, end, "not stop, restart or reset-machine");
            return -1;
        }
    } else if ((value = option_value(token, end, "bulkhead.selftest"))) {
        if ((size_t)(end - value) != 5 || memcmp(value, "panic", 5) != 0) {
            token_err(token, end, "the only self-test is \"panic\"");
            return -1;
        }
        defaults->selftest_panic = true;
    } else if ((value = option_value(token, end, "bulkhead.gdb"))) {
        size_t len = (size_t)(end - value);
        if (len == 0 || len >= sizeof(defaults->gdb_vm)) {
            token_err(token, end, "not a VM name");
            return -1;
        }
        memcpy(defaults->gdb_vm, value, len);
        defaults->gdb_vm[len] = '\0';
    } else if ((size_t)(end - token) > 9 && memcmp(token, "bulkhead.", 9) == 0) {
        unknown_option(token, end);
        return -1;
    }
    return 0;
}

bool vm_crash_policy_parse(const char *s, size_t len, enum vm_crash_policy *out)
{
    static const struct {
        const char *name;
        enum vm_crash_policy policy;
    } names[] = {{"stop", VM_ON_CRASH_STOP},
                 {"restart", VM_ON_CRASH_RESTART},
                 {"reset-machine", VM_ON_CRASH_RESET_MACHINE}};

    for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
        if (strlen(names[i].name) == len && memcmp(s, names[i].name, len) == 0) {
            *out = names[i].policy;
            return true;
        }
    }
    return false;
}

/* Every token is looked at, so that all mistakes are reported at once; the valid ones apply. */
int vm_defaults_parse(const char *bootargs, struct vm_defaults *defaults)
{
    const char *p = bootargs;
    int ret = 0;

    memset(defaults, 0, sizeof(*defaults));
    if (!p) {
        return 0;
    }
    while (*p) {
        while (is_space(*p)) {
            p++;
        }
        const char *end = p;
        while (*end && !is_space(*end)) {
            end++;
        }
        if (end > p && parse_token(p, end, defaults) < 0) {
            ret = -1;
        }
        p = end;
    }
    return ret;
}
