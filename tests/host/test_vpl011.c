/*
 * vdev/vpl011.c against the PL011 Technical Reference Manual (ARM DDI 0183, r1p5): identification
 * registers, flags, transmit and receive paths, interrupt registers, register widths and
 * reserved space. Accesses go through an MMIO bus as a guest's would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bulkhead/vpl011.h"

/* Register offsets and bits, from the TRM. */
#define DR 0x000
#define RSR 0x004
#define FR 0x018
#define IBRD 0x024
#define FBRD 0x028
#define LCR_H 0x02c
#define CR 0x030
#define IFLS 0x034
#define IMSC 0x038
#define RIS 0x03c
#define MIS 0x040
#define ICR 0x044
#define DMACR 0x048

#define FR_BUSY (1u << 3)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define FR_RXFF (1u << 6)
#define FR_TXFE (1u << 7)

#define LCR_H_FEN (1u << 4)

#define CR_UARTEN (1u << 0)
#define CR_TXE (1u << 8)
#define CR_RXE (1u << 9)

#define INT_RX (1u << 4)
#define INT_TX (1u << 5)
#define INT_RT (1u << 6)

#define UART_BASE 0x09000000ULL

struct fixture {
    struct vpl011 uart;
    struct mmio_bus bus;
    char sent[256];
    unsigned nsent;
};

static void sink(void *ctx, char c)
{
    struct fixture *f = ctx;

    if (f->nsent < sizeof(f->sent)) {
        f->sent[f->nsent] = c;
    }
    f->nsent++;
}

static struct fixture fx;

static int setup(void **state)
{
    struct mmio_region r = {.base = UART_BASE,
                            .size = VPL011_SIZE,
                            .ops = &vpl011_ops,
                            .dev = &fx.uart,
                            .name = "pl011"};

    memset(&fx, 0, sizeof(fx));
    vpl011_init(&fx.uart, sink, &fx);
    if (mmio_bus_add(&fx.bus, &r)) {
        return -1;
    }
    *state = &fx;
    return 0;
}

/* A guest load of `size` bytes at offset, zero-extended into an X register. */
static uint64_t rd_n(unsigned offset, unsigned size)
{
    struct mmio_access a = {.ipa = UART_BASE + offset, .size = (uint8_t)size, .reg64 = true};
    uint64_t val = 0xdeadbeefdeadbeefULL;

    assert_int_equal(mmio_bus_access(&fx.bus, 0, &a, &val), MMIO_OK);
    return mmio_load_value(&a, val);
}

static uint32_t rd(unsigned offset)
{
    return (uint32_t)rd_n(offset, 4);
}

static void wr_n(unsigned offset, unsigned size, uint64_t value)
{
    struct mmio_access a = {
        .ipa = UART_BASE + offset, .size = (uint8_t)size, .write = true, .reg64 = true};

    assert_int_equal(mmio_bus_access(&fx.bus, 0, &a, &value), MMIO_OK);
}

static void wr(unsigned offset, uint32_t value)
{
    wr_n(offset, 4, value);
}

static void test_peripheral_and_primecell_ids(void **state)
{
    static const uint8_t ids[8] = {0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
    (void)state;

    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(rd(0xfe0 + 4 * i), ids[i]);
        assert_int_equal(rd_n(0xfe0 + 4 * i, 1), ids[i]);
        assert_int_equal(rd_n(0xfe0 + 4 * i, 2), ids[i]);
    }
    /* Part number 0x011, designer 0x41 (Arm), PrimeCell ID 0xB105F00D. */
    uint32_t part = rd(0xfe0) | ((rd(0xfe4) & 0xf) << 8);
    uint32_t designer = (rd(0xfe4) >> 4) | ((rd(0xfe8) & 0xf) << 4);
    uint32_t cell = rd(0xff0) | (rd(0xff4) << 8) | (rd(0xff8) << 16) | (rd(0xffc) << 24);
    assert_int_equal(part, 0x011);
    assert_int_equal(designer, 0x41);
    assert_int_equal(cell, 0xb105f00dU);
}

static void test_reset_values(void **state)
{
    (void)state;

    assert_int_equal(rd(CR), CR_UARTEN | CR_TXE | CR_RXE);
    assert_int_equal(rd(IFLS), 0x12);
    assert_int_equal(rd(IMSC), 0);
    assert_int_equal(rd(IBRD), 0);
    assert_int_equal(rd(FBRD), 0);
    assert_int_equal(rd(LCR_H), 0);
    assert_int_equal(rd(DMACR), 0);
    assert_int_equal(rd(RSR), 0);
    assert_false(vpl011_irq_level(&fx.uart));
}

static void test_flags_when_idle(void **state)
{
    (void)state;

    uint32_t fr = rd(FR);
    assert_true(fr & FR_TXFE);
    assert_false(fr & FR_TXFF);
    assert_true(fr & FR_RXFE);
    assert_false(fr & FR_RXFF);
    assert_false(fr & FR_BUSY);
}

static void test_rxfe_follows_receive_fifo(void **state)
{
    (void)state;

    assert_true(rd(FR) & FR_RXFE);
    assert_true(vpl011_receive(&fx.uart, 'a'));
    assert_false(rd(FR) & FR_RXFE);
    assert_true(vpl011_receive(&fx.uart, 'b'));
    assert_int_equal(rd(DR), 'a');
    assert_false(rd(FR) & FR_RXFE);
    assert_int_equal(rd(DR), 'b');
    assert_true(rd(FR) & FR_RXFE);
    /* Transmit side untouched. */
    assert_true(rd(FR) & FR_TXFE);
    assert_false(rd(FR) & FR_TXFF);
}

static void test_dr_write_transmits_when_enabled(void **state)
{
    (void)state;

    wr(DR, 'H');
    wr(DR, 0x100 | 'i'); /* only bits 7:0 are data */
    assert_int_equal(fx.nsent, 2);
    assert_memory_equal(fx.sent, "Hi", 2);
    assert_true(rd(FR) & FR_TXFE);
}

static void test_dr_write_dropped_unless_uarten_and_txe(void **state)
{
    (void)state;

    wr(CR, CR_TXE | CR_RXE); /* UARTEN clear */
    wr(DR, 'x');
    wr(CR, CR_UARTEN | CR_RXE); /* TXE clear */
    wr(DR, 'y');
    wr(CR, 0);
    wr(DR, 'z');
    assert_int_equal(fx.nsent, 0);

    wr(CR, CR_UARTEN | CR_TXE);
    wr(DR, 'k');
    assert_int_equal(fx.nsent, 1);
    assert_int_equal(fx.sent[0], 'k');
}

static void test_dr_byte_write_transmits(void **state)
{
    (void)state;

    /* earlycon's writeb() to UARTDR. */
    wr_n(DR, 1, 'b');
    wr_n(DR, 2, 'h');
    assert_int_equal(fx.nsent, 2);
    assert_memory_equal(fx.sent, "bh", 2);
}

static void test_dr_read_pops_bytes_in_order(void **state)
{
    (void)state;

    for (unsigned i = 0; i < 10; i++) {
        assert_true(vpl011_receive(&fx.uart, (uint8_t)('0' + i)));
    }
    for (unsigned i = 0; i < 10; i++) {
        /* Bits 11:8 are the error flags: none. */
        assert_int_equal(rd(DR), '0' + i);
    }
    assert_true(rd(FR) & FR_RXFE);
    /* Bytes above 0x7f come back unchanged and unsigned. */
    assert_true(vpl011_receive(&fx.uart, 0xe9));
    assert_int_equal(rd(DR), 0xe9);
    /* A byte-wide read of UARTDR pops too. */
    assert_true(vpl011_receive(&fx.uart, 'q'));
    assert_int_equal(rd_n(DR, 1), 'q');
    assert_true(rd(FR) & FR_RXFE);
}

static void test_receive_fifo_full_drops_bytes(void **state)
{
    (void)state;

    for (unsigned i = 0; i < VPL011_RX_FIFO; i++) {
        assert_true(vpl011_receive(&fx.uart, (uint8_t)i));
    }
    assert_false(vpl011_receive(&fx.uart, 0xaa));
    assert_false(vpl011_receive(&fx.uart, 0xbb));
    for (unsigned i = 0; i < VPL011_RX_FIFO; i++) {
        assert_int_equal(rd(DR), i);
    }
    assert_true(rd(FR) & FR_RXFE);
    /* Room again. */
    assert_true(vpl011_receive(&fx.uart, 0xcc));
    assert_int_equal(rd(DR), 0xcc);
}

static void test_receive_fifo_wraps_around(void **state)
{
    unsigned next_in = 0, next_out = 0;
    (void)state;

    /* Interleave so the ring's head goes round several times. */
    for (unsigned round = 0; round < 5; round++) {
        while (next_in - next_out < VPL011_RX_FIFO) {
            assert_true(vpl011_receive(&fx.uart, (uint8_t)next_in));
            next_in++;
        }
        assert_false(vpl011_receive(&fx.uart, 0));
        for (unsigned i = 0; i < 13; i++) {
            assert_int_equal(rd(DR), (uint8_t)next_out);
            next_out++;
        }
    }
    while (next_out < next_in) {
        assert_int_equal(rd(DR), (uint8_t)next_out);
        next_out++;
    }
    assert_true(rd(FR) & FR_RXFE);
}

/* UARTFR.RXFF: with the FIFOs enabled (LCR_H.FEN), set when the receive FIFO is full. */
static void test_rxff_set_when_receive_fifo_full(void **state)
{
    (void)state;

    wr(LCR_H, LCR_H_FEN | (3u << 5)); /* 8N1, FIFOs on */
    for (unsigned i = 0; i < VPL011_RX_FIFO - 1; i++) {
        assert_true(vpl011_receive(&fx.uart, 'x'));
    }
    assert_false(rd(FR) & FR_RXFF);
    assert_true(vpl011_receive(&fx.uart, 'y'));
    assert_false(vpl011_receive(&fx.uart, 'z'));
    assert_true(rd(FR) & FR_RXFF);
    (void)rd(DR);
    assert_false(rd(FR) & FR_RXFF);
}

static void test_tx_interrupt_raised_and_masking(void **state)
{
    (void)state;

    /* The transmit FIFO is always empty, hence at or below any trigger level. */
    assert_true(rd(RIS) & INT_TX);
    assert_int_equal(rd(MIS), 0);
    assert_false(vpl011_irq_level(&fx.uart));

    wr(IMSC, INT_TX);
    assert_int_equal(rd(IMSC), INT_TX);
    assert_int_equal(rd(MIS), INT_TX);
    assert_true(vpl011_irq_level(&fx.uart));

    /* Still raised after a transmission and after being cleared: the FIFO stays empty. */
    wr(DR, '!');
    assert_true(rd(RIS) & INT_TX);
    wr(ICR, INT_TX);
    assert_true(rd(RIS) & INT_TX);

    wr(IMSC, 0);
    assert_int_equal(rd(MIS), 0);
    assert_false(vpl011_irq_level(&fx.uart));
}

static void test_rx_interrupt_while_data_waits(void **state)
{
    (void)state;

    assert_false(rd(RIS) & INT_RX);
    wr(IMSC, INT_RX | INT_RT);
    assert_false(vpl011_irq_level(&fx.uart));

    assert_true(vpl011_receive(&fx.uart, 'a'));
    assert_true(vpl011_receive(&fx.uart, 'b'));
    assert_true(rd(RIS) & INT_RX);
    assert_true(rd(MIS) & INT_RX);
    assert_true(vpl011_irq_level(&fx.uart));

    /* Clearing does not hide data that is still waiting. */
    wr(ICR, INT_RX | INT_RT);
    assert_true(rd(RIS) & INT_RX);
    assert_true(vpl011_irq_level(&fx.uart));

    (void)rd(DR);
    assert_true(rd(RIS) & INT_RX);
    (void)rd(DR);
    assert_false(rd(RIS) & (INT_RX | INT_RT));
    assert_int_equal(rd(MIS), 0);
    assert_false(vpl011_irq_level(&fx.uart));
}

static void test_mis_is_ris_and_imsc(void **state)
{
    static const uint32_t masks[] = {0, INT_TX, INT_RX, INT_RT, INT_RX | INT_TX, 0x7ff};
    (void)state;

    assert_true(vpl011_receive(&fx.uart, '#'));
    for (unsigned i = 0; i < ARRAY_SIZE(masks); i++) {
        wr(IMSC, masks[i]);
        uint32_t ris = rd(RIS), mis = rd(MIS);
        assert_int_equal(mis, ris & masks[i]);
        assert_int_equal(vpl011_irq_level(&fx.uart), mis != 0);
    }
}

static void test_icr_clears_other_interrupts_and_is_write_only(void **state)
{
    (void)state;

    /* Modem, error and overrun interrupts never assert here; ICR of everything leaves TX. */
    wr(ICR, 0x7ff);
    assert_int_equal(rd(RIS), INT_TX);
    /* Writing ICR or the read-only RIS/MIS does not set anything. */
    wr(RIS, 0x7ff);
    wr(MIS, 0x7ff);
    assert_int_equal(rd(RIS), INT_TX);
}

static void test_registers_keep_only_defined_bits(void **state)
{
    static const struct {
        unsigned offset;
        uint32_t mask;
    } regs[] = {
        {IBRD, 0xffff}, /* BAUD DIVINT 15:0 */
        {FBRD, 0x3f},   /* BAUD DIVFRAC 5:0 */
        {LCR_H, 0xff},  /* SPS, WLEN, FEN, STP2, EPS, PEN, BRK */
        {CR, 0xff87},   /* CTSEn..RXE, TXE, LBE, SIRLP, SIREN, UARTEN; 6:3 reserved */
        {IFLS, 0x3f},   /* RXIFLSEL 5:3, TXIFLSEL 2:0 */
        {IMSC, 0x7ff},  /* OEIM..RIMIM */
        {DMACR, 0x7},   /* DMAONERR, TXDMAE, RXDMAE */
    };
    (void)state;

    for (unsigned i = 0; i < ARRAY_SIZE(regs); i++) {
        wr(regs[i].offset, 0xffffffffU);
        assert_int_equal(rd(regs[i].offset), regs[i].mask);
        wr(regs[i].offset, 0);
        assert_int_equal(rd(regs[i].offset), 0);
    }
}

static void test_read_only_registers_ignore_writes(void **state)
{
    (void)state;

    uint32_t fr = rd(FR);
    wr(FR, 0xffffffffU);
    assert_int_equal(rd(FR), fr);
    for (unsigned i = 0; i < 8; i++) {
        wr(0xfe0 + 4 * i, 0xff);
    }
    assert_int_equal(rd(0xfe0), 0x11);
    assert_int_equal(rd(0xffc), 0xb1);
}

static void test_byte_and_halfword_reads_inside_registers(void **state)
{
    (void)state;

    wr(IBRD, 0xa5c3);
    assert_int_equal(rd_n(IBRD, 1), 0xc3);
    assert_int_equal(rd_n(IBRD + 1, 1), 0xa5);
    assert_int_equal(rd_n(IBRD + 2, 1), 0);
    assert_int_equal(rd_n(IBRD + 3, 1), 0);
    assert_int_equal(rd_n(IBRD, 2), 0xa5c3);
    assert_int_equal(rd_n(IBRD + 2, 2), 0);

    /* UARTCR after reset: 0x0301. */
    assert_int_equal(rd_n(CR, 1), 0x01);
    assert_int_equal(rd_n(CR + 1, 1), 0x03);
    assert_int_equal(rd_n(CR, 2), 0x0301);

    /* UARTFR: TXFE | RXFE in the low byte, RI (bit 8) clear. */
    assert_int_equal(rd_n(FR, 1), FR_TXFE | FR_RXFE);
    assert_int_equal(rd_n(FR + 1, 1), 0);

    /* ID registers are 8 bits wide: their upper bytes read as zero. */
    assert_int_equal(rd_n(0xfe1, 1), 0);
    assert_int_equal(rd_n(0xffd, 1), 0);
    assert_int_equal(rd_n(0xffe, 2), 0);
}

static void test_reserved_offsets_read_zero_and_ignore_writes(void **state)
{
    static const unsigned reserved[] = {0x008, 0x00c, 0x010, 0x014, 0x01c, 0x04c, 0x07c, 0x080,
                                        0x08c, 0x090, 0x800, 0xfc0, 0xfcc, 0xfd0, 0xfdc};
    static const unsigned readable[] = {FR, IBRD, FBRD, LCR_H, CR, IFLS, IMSC, RIS, MIS, DMACR};
    uint32_t before[ARRAY_SIZE(readable)];
    (void)state;

    wr(IBRD, 0x1b);
    wr(FBRD, 0x08);
    wr(LCR_H, 0x70);
    wr(IMSC, INT_TX);
    for (unsigned i = 0; i < ARRAY_SIZE(readable); i++) {
        before[i] = rd(readable[i]);
    }
    for (unsigned i = 0; i < ARRAY_SIZE(reserved); i++) {
        assert_int_equal(rd(reserved[i]), 0);
        assert_int_equal(rd_n(reserved[i] + 1, 1), 0);
        wr(reserved[i], 0xffffffffU);
        wr_n(reserved[i] + 2, 1, 0xff);
        assert_int_equal(rd(reserved[i]), 0);
    }
    for (unsigned i = 0; i < ARRAY_SIZE(readable); i++) {
        assert_int_equal(rd(readable[i]), before[i]);
    }
    assert_int_equal(fx.nsent, 0);
}

#define T(fn) cmocka_unit_test_setup(fn, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_peripheral_and_primecell_ids),
        T(test_reset_values),
        T(test_flags_when_idle),
        T(test_rxfe_follows_receive_fifo),
        T(test_dr_write_transmits_when_enabled),
        T(test_dr_write_dropped_unless_uarten_and_txe),
        T(test_dr_byte_write_transmits),
        T(test_dr_read_pops_bytes_in_order),
        T(test_receive_fifo_full_drops_bytes),
        T(test_receive_fifo_wraps_around),
        T(test_rxff_set_when_receive_fifo_full),
        T(test_tx_interrupt_raised_and_masking),
        T(test_rx_interrupt_while_data_waits),
        T(test_mis_is_ris_and_imsc),
        T(test_icr_clears_other_interrupts_and_is_write_only),
        T(test_registers_keep_only_defined_bits),
        T(test_read_only_registers_ignore_writes),
        T(test_byte_and_halfword_reads_inside_registers),
        T(test_reserved_offsets_read_zero_and_ignore_writes),
    };

    return cmocka_run_group_tests_name("vpl011", tests, NULL, NULL);
}
