/*
 * shmtool: a tiny static arm64 Linux program for the shared-memory tests (GitHub issue 11),
 * put in the initramfs as /bin/shmtool by tests/linux/mkinitramfs.py. No libc: raw system calls
 * (openat, mmap, munmap, write, nanosleep, exit_group) through svc #0. Built by
 * tests/linux/linux.mk with aarch64-linux-gnu-gcc -static -nostdlib -ffreestanding -O2.
 *
 * It maps /dev/mem (O_SYNC) at a physical range, as busybox devmem does one word at a time:
 *   shmtool fill ADDR SIZE SEED    writes a pattern of SIZE bytes (64-bit words) at ADDR
 *   shmtool check ADDR SIZE SEED   reads it back: "shmtool: ok SIZE bytes at ADDR", or
 *                                  "shmtool: mismatch at ADDR2: 0xREAD, expected 0xWANT" and
 *                                  the number of differing words (exit status 1)
 *   shmtool read64 ADDR            prints the 64-bit word at ADDR
 *   shmtool cpushare START DUR     the share of its physical CPU this vCPU gets (issue 15): sleeps
 *                                  until the counter reaches START seconds (the VMs of one
 *                                  machine share the counter, so they all start together), then
 *                                  spins DUR seconds reading CNTVCT_EL0; a jump over 100 us
 *                                  between two reads is time the vCPU was away. Prints
 *                                  "shmtool: cpushare permille=N loops=L late=0|1 began_ms=B"
 *                                  (late: START had passed when it was started; B: how long
 *                                  after START it began spinning, e.g. kept waiting by a VM of
 *                                  higher priority)
 * ADDR must be 8-byte aligned, SIZE a multiple of 8; numbers are decimal or 0x-prefixed hex.
 * Word i of the pattern is a function of SEED and i only, so a shifted or stale copy fails.
 */

typedef unsigned long u64;
typedef long s64;

#define SYS_OPENAT 56
#define SYS_CLOSE 57
#define SYS_WRITE 64
#define SYS_EXIT_GROUP 94
#define SYS_MUNMAP 215
#define SYS_MMAP 222
#define SYS_NANOSLEEP 101

#define AT_FDCWD (-100)
#define O_RDWR 2
#define O_SYNC 04010000
#define PROT_RW 3
#define MAP_SHARED 1
#define PAGE 4096UL

static s64 sys6(s64 nr, s64 a, s64 b, s64 c, s64 d, s64 e, s64 f)
{
    register s64 x8 __asm__("x8") = nr;
    register s64 x0 __asm__("x0") = a;
    register s64 x1 __asm__("x1") = b;
    register s64 x2 __asm__("x2") = c;
    register s64 x3 __asm__("x3") = d;
    register s64 x4 __asm__("x4") = e;
    register s64 x5 __asm__("x5") = f;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}

static unsigned long slen(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}

static void out(const char *s)
{
    sys6(SYS_WRITE, 1, (s64)s, (s64)slen(s), 0, 0, 0);
}

static void out_hex(u64 v)
{
    char buf[19];
    int i = 18;
    buf[i] = 0;
    do {
        buf[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    buf[--i] = 'x';
    buf[--i] = '0';
    out(buf + i);
}

static void out_dec(u64 v)
{
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out(buf + i);
}

static __attribute__((noreturn)) void leave(int code)
{
    for (;;)
        sys6(SYS_EXIT_GROUP, code, 0, 0, 0, 0, 0);
}

static __attribute__((noreturn)) void usage(void)
{
    out("usage: shmtool fill|check ADDR SIZE SEED | shmtool read64 ADDR | shmtool cpushare START "
        "DUR\n");
    leave(2);
}

static u64 number(const char *s)
{
    u64 v = 0;
    int base = 10;
    if (!s || !*s)
        usage();
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (!*s)
            usage();
    }
    for (; *s; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            usage();
        if (d >= base)
            usage();
        v = v * (u64)base + (u64)d;
    }
    return v;
}

static int same(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* Word i of the pattern seeded `seed` (splitmix64's finaliser of seed and index). */
static u64 pattern(u64 seed, u64 i)
{
    u64 z = seed * 0x9e3779b97f4a7c15UL + (i + 1) * 0xbf58476d1ce4e5b9UL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
    return z ^ (z >> 31);
}

/* Maps [addr, addr + size) of /dev/mem; returns the pointer to addr. */
static volatile u64 *map(u64 addr, u64 size, u64 *base_out, u64 *len_out)
{
    u64 base = addr & ~(PAGE - 1);
    u64 len = (addr + size - base + PAGE - 1) & ~(PAGE - 1);
    s64 fd = sys6(SYS_OPENAT, AT_FDCWD, (s64) "/dev/mem", O_RDWR | O_SYNC, 0, 0, 0);
    s64 p;
    if (fd < 0) {
        out("shmtool: cannot open /dev/mem: error ");
        out_dec((u64)-fd);
        out("\n");
        leave(1);
    }
    p = sys6(SYS_MMAP, 0, (s64)len, PROT_RW, MAP_SHARED, fd, (s64)base);
    sys6(SYS_CLOSE, fd, 0, 0, 0, 0, 0);
    if (p < 0 && p > -4096) {
        out("shmtool: cannot map ");
        out_hex(base);
        out(" of /dev/mem: error ");
        out_dec((u64)-p);
        out("\n");
        leave(1);
    }
    *base_out = (u64)p;
    *len_out = len;
    return (volatile u64 *)((u64)p + (addr - base));
}

static u64 counter(void)
{
    u64 v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
    return v;
}

static u64 counter_freq(void)
{
    u64 v;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
    return v;
}

static void sleep_ticks(u64 ticks, u64 freq)
{
    u64 ns = ticks % freq * 1000000000UL / freq;
    s64 ts[2] = {(s64)(ticks / freq), (s64)ns};
    sys6(SYS_NANOSLEEP, (s64)ts, 0, 0, 0, 0, 0);
}

static int cpushare(u64 start_s, u64 dur_s)
{
    u64 freq = counter_freq(), start = start_s * freq, now = counter(), late = now > start;
    u64 away = 0, loops = 0, gap = freq / 10000, prev, end;

    if (!late)
        sleep_ticks(start - now, freq);
    /* Asleep until then: a VM of lower priority boots meanwhile. Spin from the start on. */
    while ((now = counter()) < start)
        ;
    u64 began_ms = (now - start) * 1000 / freq;
    end = now + dur_s * freq;
    for (prev = now; prev < end; loops++) {
        now = counter();
        if (now - prev > gap)
            away += now - prev;
        prev = now;
    }
    out("shmtool: cpushare permille=");
    out_dec(1000 - away * 1000 / (dur_s * freq));
    out(" loops=");
    out_dec(loops);
    out(" late=");
    out_dec(late);
    out(" began_ms=");
    out_dec(began_ms);
    out("\n");
    return 0;
}

static int run(int argc, char **argv)
{
    u64 addr, size = 8, seed = 0, mbase, mlen, words, i, bad = 0;
    volatile u64 *w;
    int fill = 0, check = 0;

    if (argc < 3)
        usage();
    if (same(argv[1], "cpushare")) {
        if (argc != 4)
            usage();
        return cpushare(number(argv[2]), number(argv[3]));
    }
    if (same(argv[1], "fill") || same(argv[1], "check")) {
        if (argc != 5)
            usage();
        fill = same(argv[1], "fill");
        check = !fill;
        size = number(argv[3]);
        seed = number(argv[4]);
    } else if (!same(argv[1], "read64") || argc != 3) {
        usage();
    }
    addr = number(argv[2]);
    if ((addr | size) & 7 || !size) {
        out("shmtool: ADDR must be 8-byte aligned, SIZE a non-zero multiple of 8\n");
        return 2;
    }
    w = map(addr, size, &mbase, &mlen);
    words = size / 8;
    if (fill) {
        for (i = 0; i < words; i++)
            w[i] = pattern(seed, i);
        out("shmtool: wrote ");
        out_dec(size);
        out(" bytes at ");
        out_hex(addr);
        out("\n");
    } else if (check) {
        for (i = 0; i < words; i++) {
            u64 v = w[i], want = pattern(seed, i);
            if (v == want)
                continue;
            if (!bad++) {
                out("shmtool: mismatch at ");
                out_hex(addr + 8 * i);
                out(": ");
                out_hex(v);
                out(", expected ");
                out_hex(want);
                out("\n");
            }
        }
        if (bad) {
            out("shmtool: ");
            out_dec(bad);
            out(" of ");
            out_dec(words);
            out(" words differ\n");
        } else {
            out("shmtool: ok ");
            out_dec(size);
            out(" bytes at ");
            out_hex(addr);
            out("\n");
        }
    } else {
        out_hex(w[0]);
        out("\n");
    }
    sys6(SYS_MUNMAP, (s64)mbase, (s64)mlen, 0, 0, 0, 0);
    return bad ? 1 : 0;
}

__attribute__((used)) void shmtool_main(long *sp)
{
    leave(run((int)sp[0], (char **)(sp + 1)));
}

/* The kernel starts us with argc at [sp], argv after it. */
__asm__(".globl _start\n"
        "_start:\n"
        "    mov x29, #0\n"
        "    mov x30, #0\n"
        "    mov x0, sp\n"
        "    bl shmtool_main\n");
