/*
 * irqtest: the interrupt test guest. Runs on 2 CPUs (PSCI CPU_ON) with the GIC,
 * timers and UART the DTB describes, under the hypervisor or on the bare board, and prints one
 * "PASS <check>" or "FAIL <check>: <detail>" line per check, then "DONE passed=N failed=M" and
 * calls PSCI SYSTEM_OFF. The bootargs choose the mode:
 *
 *   mode=all (default)  vtimer, ptimer, vtimer_withdrawn, sgi_0_to_1, sgi_1_to_0, spi_routing,
 *                       priority, many_pending, wfi_wakes (each described at its function)
 *   mode=isolation vm=K two such VMs run at once (K = 0 and 1): each sends SGIs between and to
 *                       its own CPUs, runs periodic timers and takes its UART's interrupt, and
 *                       checks it takes exactly its own interrupts: isolation_sgi,
 *                       isolation_timer, isolation_spi
 *
 * Options: tol_ms=N (timer lateness tolerance, default TIMER_TOLERANCE_MS).
 *
 * The checks are in irqtest_<topic>.c, the IRQ handler and its records in irqtest_irq.c, CPU 1's
 * command loop in irqtest_cpus.c. The GIC is set up as gic.h says. A handler may unmask IRQs and
 * be preempted (the vectors save ELR_EL1 and SPSR_EL1). The irqtest files are built without
 * FP/SIMD registers (guest.mk): a handler runs on top of code (printf, libfdt) that holds live
 * FP/SIMD values, and the vectors save only the general registers. Handlers never print.
 */
#include "irqtest.h"

/* Time, the GIC and the mode: prints the set-up line, or FAIL setup and powers off. */
static void check_platform(const char *mode)
{
    uint64_t freq = cntfrq();

    ticks_per_ms = freq / 1000;
    ticks_per_us = freq / 1000000;
    if (!guest.fdt_ok || !ticks_per_us) {
        fail("setup", "%s", !guest.fdt_ok ? "no valid DTB" : "CNTFRQ_EL0 is 0");
        finish();
    }
    if (!gic.version) {
        fail("setup", "no GIC node (arm,gic-v3 or arm,cortex-a15-gic) in the DTB");
        finish();
    }
    printf("irqtest: mode=%s, GICv%u (GICD 0x%lx, %s 0x%lx), %u CPUs, PSCI %s, counter %lu Hz, "
           "timer INTIDs %u (virtual) %u (physical), UART INTID %u\n",
           mode, gic.version, (unsigned long)gic.gicd, gic.version == 2 ? "GICC" : "GICR",
           (unsigned long)(gic.version == 2 ? gic.gicc : gic.gicr_base), guest.nr_cpus,
           guest.psci_smc ? "smc" : "hvc", (unsigned long)freq, guest.vtimer_intid,
           guest.ptimer_intid, guest.uart_intid);
    if (strcmp(mode, "all") != 0 && strcmp(mode, "isolation") != 0) {
        fail("setup", "unknown mode \"%s\"", mode);
        finish();
    }
}

/* The GIC on CPU 0, then CPU 1 in its command loop; FAIL setup and power off if either fails. */
static void start_cpus(void)
{
    unsigned nr_cpus = MIN(guest.nr_cpus, (unsigned)GUEST_MAX_CPUS);

    guest_set_irq_handler(irq_entry);
    gic_dist_init();
    if (!gic_cpu_init(0)) {
        fail("setup", "no GIC %s for CPU 0 (MPIDR 0x%lx)",
             gic.version == 2 ? "CPU interface" : "redistributor", (unsigned long)read_mpidr_aff());
        finish();
    }
    if (nr_cpus < 2) {
        fail("setup", "%u CPU in the DTB, the tests need 2", nr_cpus);
        finish();
    }
    int64_t ret = cpu_start(1);
    if (ret != PSCI_RET_SUCCESS || !cpu_ready(1)) {
        fail("setup", "CPU 1 (MPIDR 0x%lx) did not start: CPU_ON returned %ld",
             (unsigned long)guest.cpu_mpidr[1], (long)ret);
        finish();
    }
    if (gic.mpidr[0] != (guest.cpu_mpidr[0] & MPIDR_AFF_MASK) ||
        gic.mpidr[1] != (guest.cpu_mpidr[1] & MPIDR_AFF_MASK)) {
        printf("irqtest: note: MPIDRs read 0x%lx, 0x%lx; the DTB says 0x%lx, 0x%lx\n",
               (unsigned long)gic.mpidr[0], (unsigned long)gic.mpidr[1],
               (unsigned long)guest.cpu_mpidr[0], (unsigned long)guest.cpu_mpidr[1]);
    }
}

/* mode=all. CPU 1 is parked while it is not needed (see park). */
static void check_all(unsigned long tolerance_ms)
{
    park(1, true);
    check_timer(VTIMER, tolerance_ms);
    check_timer(PTIMER, tolerance_ms);
    check_vtimer_withdrawn();
    park(1, false);
    check_sgi(0, 1);
    check_sgi(1, 0);
    check_spi_routing();
    check_priority();
    check_many_pending();
    park(1, true);
    check_wfi_wakes();
}

int main(void *dtb)
{
    char mode[32] = "all";

    guest_init(dtb);
    bootarg("mode", mode, sizeof(mode));
    check_platform(mode);
    start_cpus();
    irqs_on();
    if (strcmp(mode, "isolation") == 0) {
        isolation();
    } else {
        check_all(bootarg_ul("tol_ms", TIMER_TOLERANCE_MS));
    }
    irqs_off();
    finish();
}
