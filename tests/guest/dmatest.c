/*
 * The SMMU test guest (tests/qemu/test_smmu.py), in one of two modes (bootargs mode=...):
 *
 * mode=dma: owns QEMU's PCIe bridge with an `edu` device behind it (a PCI device with a DMA
 * engine: BAR0 registers 0x80 source, 0x88 destination, 0x90 count, 0x98 command; its own 4 KiB
 * buffer at device address 0x40000). It enumerates bus 0 through the bridge's ECAM, gives BAR0
 * an address in the bridge's 32-bit window and enables bus mastering; copies a page of its RAM
 * into the device and back into a page 48 MiB into its RAM, a block its CPU never touched (the
 * device uses IPAs, which the SMMU translates through the VM's stage 2, populated whole for a VM
 * with DMA through the SMMU); then reads the hypervisor's log (BH_HVC_LOG_READ, so its VM needs
 * bulkhead,monitor) for the victim VM's RAM address (victim=NAME) and has the device write a
 * page there and read one from there: addresses outside its own RAM, which the SMMU must block.
 * With reboot=1 it resets its VM once after the copy and copies again in its second life.
 * Lines: "dmatest: ...", "PASS/FAIL <check>".
 *
 * mode=victim: fills a page at RAM + VICTIM_OFFSET with a pattern and checks it every 100 ms
 * for seconds=N, then says whether it is intact and powers off.
 */
#include <libfdt.h>

#include "guest.h"
#include "report.h"

#define EDU_VENDOR_DEVICE 0x11e81234u
#define EDU_ID 0x00
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_START 1u
#define EDU_CMD_TO_RAM 2u
#define EDU_BUFFER 0x40000
#define EDU_BAR_SIZE 0x100000

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_BAR0 0x10

#define PAGE 4096
#define VICTIM_OFFSET 0x200000 /* a page in the victim's second 2 MiB block */
#define PATTERN 0x5a5aa5a5u

/* The guest's level-1 identity map (start.S): 1 GiB blocks. */
extern uint64_t guest_l1_table[];
#define L1_DEVICE_BLOCK ((1ull << 0) | (0ull << 2) | (1ull << 10) | (1ull << 53) | (1ull << 54))

#define DST_OFFSET 0x3000000 /* a block of RAM this VM's CPU never touched before the copy */

static uint8_t src_page[PAGE] __attribute__((aligned(PAGE)));
static char log_buf[8192];

/* Maps the GiB holding addr as device memory (the bridge's ECAM lies above 4 GiB). */
static void map_device_gib(uint64_t addr)
{
    guest_l1_table[addr >> 30] = (addr & ~((1ull << 30) - 1)) | L1_DEVICE_BLOCK;
    asm volatile("dsb ishst\n tlbi vmalle1\n dsb ish\n isb" ::: "memory");
}

static uint64_t cells(const fdt32_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++) {
        v = (v << 32) | fdt32_to_cpu(p[i]);
    }
    return v;
}

struct bridge {
    uint64_t ecam;
    uint64_t mmio32; /* the 32-bit memory window's CPU address */
};

static bool find_bridge(struct bridge *b)
{
    int node = fdt_node_offset_by_compatible(guest.fdt, -1, "pci-host-ecam-generic");
    int len;
    const fdt32_t *reg = node >= 0 ? fdt_getprop(guest.fdt, node, "reg", &len) : NULL;
    const fdt32_t *ranges = node >= 0 ? fdt_getprop(guest.fdt, node, "ranges", &len) : NULL;

    if (!reg || !ranges) {
        return false;
    }
    b->ecam = cells(reg, 2);
    b->mmio32 = 0;
    /* <pci-address(3) cpu-address(2) size(2)>; space code 2: 32-bit memory. */
    for (int i = 0; i + 7 <= len / 4; i += 7) {
        if (((fdt32_to_cpu(ranges[i]) >> 24) & 3) == 2) {
            b->mmio32 = cells(&ranges[i + 3], 2);
        }
    }
    return b->mmio32 != 0;
}

/* The edu device on bus 0: its BAR0 at the window's start, memory decoding and bus mastering
 * on. Returns its registers, or 0. */
static uintptr_t setup_edu(const struct bridge *b)
{
    map_device_gib(b->ecam);
    for (unsigned dev = 0; dev < 32; dev++) {
        uintptr_t cfg = (uintptr_t)(b->ecam + ((uint64_t)dev << 15));
        if (mmio_read32(cfg) != EDU_VENDOR_DEVICE) {
            continue;
        }
        uintptr_t bar = (uintptr_t)ALIGN_UP(b->mmio32, EDU_BAR_SIZE);
        mmio_write32(cfg + PCI_BAR0, (uint32_t)bar);
        mmio_write32(cfg + PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        printf("dmatest: edu at 00:%02x.0 (stream 0x%x), BAR0 at 0x%lx\n", dev, dev << 3,
               (unsigned long)bar);
        return bar;
    }
    return 0;
}

static void mmio_write64(uintptr_t addr, uint64_t v)
{
    mmio_write32(addr, (uint32_t)v);
    mmio_write32(addr + 4, (uint32_t)(v >> 32));
}

/* One transfer of the device's DMA engine; waits for it to end (the device's timer: ~100 ms). */
static bool edu_dma(uintptr_t edu, uint64_t src, uint64_t dst, bool to_ram)
{
    mmio_write64(edu + EDU_DMA_SRC, src);
    mmio_write64(edu + EDU_DMA_DST, dst);
    mmio_write64(edu + EDU_DMA_COUNT, PAGE);
    mmio_write32(edu + EDU_DMA_CMD, EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0));
    for (unsigned ms = 0; ms < 5000; ms += 10) {
        if (!(mmio_read32(edu + EDU_DMA_CMD) & EDU_CMD_START)) {
            return true;
        }
        delay_ms(10);
    }
    return false;
}

static void good_dma(uintptr_t edu)
{
    uint8_t *dst_page = (uint8_t *)(uintptr_t)(guest.ram_base + DST_OFFSET);

    for (unsigned i = 0; i < PAGE; i++) {
        src_page[i] = (uint8_t)(i * 7 + 3);
    }
    asm volatile("dsb sy" ::: "memory");
    if (!edu_dma(edu, (uintptr_t)src_page, EDU_BUFFER, false) ||
        !edu_dma(edu, EDU_BUFFER, (uintptr_t)dst_page, true)) {
        fail("dma_own_ram", "the device's DMA engine never finished");
        return;
    }
    if (memcmp(src_page, dst_page, PAGE) != 0) {
        fail("dma_own_ram", "the page copied through the device differs (first byte 0x%x)",
             dst_page[0]);
        return;
    }
    printf("dmatest: a page copied through the device, IPA 0x%lx -> 0x%lx\n",
           (unsigned long)(uintptr_t)src_page, (unsigned long)(uintptr_t)dst_page);
    pass("dma_own_ram");
}

static const char *find(const char *s, const char *what)
{
    size_t n = strlen(what);

    for (; *s; s++) {
        if (strncmp(s, what, n) == 0) {
            return s;
        }
    }
    return NULL;
}

/* "bulkhead: <victim>: 1 vCPU, 64 MiB RAM at 0x..." in the hypervisor's log. */
static uint64_t victim_ram(const char *victim)
{
    uint64_t n = guest_hvc(BH_HVC_LOG_READ, 0, (uintptr_t)log_buf, sizeof(log_buf) - 1);
    char key[64];

    if ((int64_t)n <= 0 || n >= sizeof(log_buf)) {
        return 0;
    }
    log_buf[n] = '\0';
    snprintf(key, sizeof(key), "bulkhead: %s: ", victim);
    for (const char *p = find(log_buf, key); p; p = find(p + 1, key)) {
        const char *at = find(p, " RAM at 0x");
        const char *eol = strchr(p, '\n');
        if (at && (!eol || at < eol)) {
            return strtoul(at + strlen(" RAM at 0x"), NULL, 16);
        }
    }
    return 0;
}

static void stray_dma(uintptr_t edu, const char *victim)
{
    uint64_t target = victim_ram(victim);

    if (!target) {
        fail("dma_stray", "no \"%s: ... RAM at\" line in the hypervisor's log", victim);
        return;
    }
    target += VICTIM_OFFSET;
    if (target >= guest.ram_base && target < guest.ram_base + guest.ram_size) {
        fail("dma_stray", "the victim's page 0x%lx is an IPA of my own RAM: no test",
             (unsigned long)target);
        return;
    }
    printf("dmatest: DMA write to 0x%lx (the victim's RAM), then a read from it\n",
           (unsigned long)target);
    edu_dma(edu, EDU_BUFFER, target, true);
    edu_dma(edu, target, EDU_BUFFER, false);
    printf("dmatest: stray DMA done\n");
}

static void dma_mode(void)
{
    struct bridge b;
    char victim[32] = "victim";

    bootarg("victim", victim, sizeof(victim));
    if (!find_bridge(&b)) {
        fail("dma_bridge", "no pci-host-ecam-generic node with reg and a 32-bit window");
        return;
    }
    printf("dmatest: bridge ECAM at 0x%lx, 32-bit window at 0x%lx\n", (unsigned long)b.ecam,
           (unsigned long)b.mmio32);
    uintptr_t edu = setup_edu(&b);
    if (!edu) {
        fail("dma_bridge", "no edu device (1234:11e8) on bus 0");
        return;
    }
    if ((mmio_read32(edu + EDU_ID) & 0xff) != 0xed) {
        fail("dma_bridge", "edu's ID register reads 0x%x", mmio_read32(edu + EDU_ID));
        return;
    }
    pass("dma_bridge");
    good_dma(edu);
    /* reboot=1: the first life resets the VM after its copy (its RAM unmapped, the SMMU's TLB
     * invalidated, its RAM mapped again), the second copies again, then strays. */
    if (bootarg_ul("reboot", 0) && guest_hvc(BH_HVC_BOOT_COUNT, 0, 0, 0) == 0) {
        printf("dmatest: resetting the VM\n");
        smccc_call(PSCI_0_2_FN_SYSTEM_RESET, 0, 0, 0);
    }
    stray_dma(edu, victim);
    /* The hypervisor stops this VM for the stray DMA (its default on-crash policy): a VM still
     * running after this long was not. */
    delay_ms(bootarg_ul("linger_ms", 3000));
    printf("dmatest: still running after the stray DMA\n");
}

static void victim_mode(void)
{
    volatile uint32_t *page = (volatile uint32_t *)(uintptr_t)(guest.ram_base + VICTIM_OFFSET);
    unsigned long seconds = bootarg_ul("seconds", 10), checks = 0;

    for (unsigned i = 0; i < PAGE / 4; i++) {
        page[i] = PATTERN ^ i;
    }
    printf("victim: pattern written at IPA 0x%lx\n", (unsigned long)(uintptr_t)page);
    for (unsigned long ms = 0; ms < seconds * 1000; ms += 100, checks++) {
        for (unsigned i = 0; i < PAGE / 4; i++) {
            if (page[i] != (PATTERN ^ i)) {
                fail("victim_pattern", "word %u is 0x%x after %lu checks", i, page[i], checks);
                return;
            }
        }
        delay_ms(100);
    }
    printf("victim: pattern intact after %lu checks\n", checks);
    pass("victim_pattern");
}

int main(void *dtb)
{
    char mode[16] = "";

    guest_init(dtb);
    bootarg("mode", mode, sizeof(mode));
    if (strcmp(mode, "victim") == 0) {
        victim_mode();
    } else {
        dma_mode();
    }
    finish();
}
