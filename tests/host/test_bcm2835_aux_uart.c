/* The Raspberry Pi's mini UART as the hypervisor's console (drivers/bcm2835_aux_uart.c over
 * memory standing in for its registers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/bcm2835_aux_uart.h"

#define LSR_DATA_READY 0x01u
#define LSR_TX_IDLE_EMPTY 0x60u /* what QEMU's model and an idle UART read */

static uint32_t regs[AUX_MU_SIZE / 4];
#define REG(off) regs[(off) / 4]
#define BASE ((paddr_t)(uintptr_t)regs)

static int setup(void **state)
{
    (void)state;
    memset(regs, 0, sizeof(regs));
    REG(AUX_MU_LSR) = LSR_TX_IDLE_EMPTY;
    return 0;
}

static void test_init_enables_both_directions(void **state)
{
    (void)state;
    aux_uart_init(BASE);
    assert_int_equal(REG(AUX_MU_CNTL), 0x3);
}

static void test_putc_writes_io(void **state)
{
    (void)state;
    aux_uart_putc(BASE, 'x');
    assert_int_equal(REG(AUX_MU_IO), 'x');
    aux_uart_putc(BASE, (char)0xe9); /* a byte, not a sign-extended char */
    assert_int_equal(REG(AUX_MU_IO), 0xe9);
}

/* A UART that never has room (disabled: its registers read 0) drops the byte, not the CPU. */
static void test_putc_gives_up_on_a_dead_uart(void **state)
{
    (void)state;
    REG(AUX_MU_LSR) = 0;
    aux_uart_putc(BASE, 'x');
    assert_int_equal(REG(AUX_MU_IO), 0);
}

static void test_getc_only_when_data_ready(void **state)
{
    (void)state;
    REG(AUX_MU_IO) = 'a';
    assert_int_equal(aux_uart_getc(BASE), -1);
    REG(AUX_MU_LSR) |= LSR_DATA_READY;
    REG(AUX_MU_IO) = 0x1ff; /* only the data byte is returned */
    assert_int_equal(aux_uart_getc(BASE), 0xff);
}

/* The receive interrupt with the errata's bits 3:2, and not the transmit one (which would never
 * stop: the transmitter is nearly always empty). */
static void test_rx_irq_only(void **state)
{
    (void)state;
    aux_uart_enable_rx_irq(BASE);
    assert_int_equal(REG(AUX_MU_IER), 0x0d);
}

/* Drained: returns once the transmitter is idle, and gives up on one that never is. */
static void test_drain(void **state)
{
    (void)state;
    aux_uart_drain(BASE); /* LSR says idle */
    REG(AUX_MU_LSR) = 0x20;
    aux_uart_drain(BASE); /* never idle: bounded */
}

static void test_no_uart_no_access(void **state)
{
    (void)state;
    aux_uart_init(0);
    aux_uart_putc(0, 'x');
    assert_int_equal(aux_uart_getc(0), -1);
    aux_uart_enable_rx_irq(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_init_enables_both_directions, setup),
        cmocka_unit_test_setup(test_putc_writes_io, setup),
        cmocka_unit_test_setup(test_putc_gives_up_on_a_dead_uart, setup),
        cmocka_unit_test_setup(test_getc_only_when_data_ready, setup),
        cmocka_unit_test_setup(test_rx_irq_only, setup),
        cmocka_unit_test_setup(test_drain, setup),
        cmocka_unit_test_setup(test_no_uart_no_access, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
