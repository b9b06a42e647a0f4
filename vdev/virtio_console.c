/*
 * virtio-console (virtio 1.2, 5.3): one port, Linux's hvc0, on the VM's console port beside its
 * PL011. Its output joins the VM's lines like the PL011's. The keyboard's bytes go to one device
 * of the VM at a time: the PL011 until the guest first writes to this console, then this one,
 * until the VM or the driver resets it (the PL011 then has them again). Pure C, host-tested.
 *
 * Queues: 0 receives (typed bytes into the driver's buffers), 1 transmits.
 */
#include "bulkhead/console.h"
#include "bulkhead/printk.h"
#include "bulkhead/virtio.h"

enum { RX_QUEUE, TX_QUEUE };

struct virtio_console_config {
    uint16_t cols, rows;
    uint32_t max_nr_ports;
    uint32_t emerg_wr;
};

struct vconsole {
    struct virtio_dev vd;
    struct virtio_console_config config;
    struct console_port *port;
    /* Who had the keyboard before this device took it (the PL011), for giving it back. */
    bool has_input;
    bool (*prev_input)(void *ctx, char c);
    void *prev_ctx;
};

static bool vconsole_input(void *ctx, char c);

/* The guest uses this console: typed bytes come here from now on. Device lock held. */
static void take_input(struct vconsole *con)
{
    if (con->has_input) {
        return;
    }
    con->prev_input = con->port->input;
    con->prev_ctx = con->port->input_ctx;
    con->has_input = true;
    console_port_set_input(con->port, vconsole_input, con);
}

static void transmit(struct vconsole *con, const struct virtq_chain *c)
{
    for (unsigned i = 0; i < c->nr_out; i++) {
        for (uint32_t j = 0; j < c->seg[i].len; j++) {
            console_port_putc(con->port, (char)c->seg[i].host[j]);
        }
    }
}

static void vconsole_notify(struct virtio_dev *vd, unsigned q)
{
    struct vconsole *con = (struct vconsole *)vd;
    struct virtq_chain c;

    if (q != TX_QUEUE) {
        return; /* new receive buffers: after_notify hands them the waiting input */
    }
    for (unsigned n = 0; n < VIRTIO_BUDGET; n++) {
        if (virtio_pop(vd, TX_QUEUE, &c) <= 0) {
            return;
        }
        if (c.out_len) {
            take_input(con);
        }
        transmit(con, &c);
        virtio_push(vd, TX_QUEUE, &c, 0);
    }
    virtio_more(vd, TX_QUEUE);
}

/* A typed byte, into the next receive buffer; false while the driver has none (the console
 * keeps the byte until after_notify asks again). Called with no lock held. */
static bool vconsole_input(void *ctx, char c)
{
    struct vconsole *con = ctx;
    struct virtq_chain chain;
    bool taken = false;

    virtio_lock(&con->vd);
    if (virtio_pop(&con->vd, RX_QUEUE, &chain) > 0) {
        uint32_t n = (uint32_t)virtq_write(&chain, 0, &c, 1);
        virtio_push(&con->vd, RX_QUEUE, &chain, n);
        taken = true;
    }
    virtio_unlock(&con->vd);
    return taken;
}

static void vconsole_after_notify(struct virtio_dev *vd, unsigned q)
{
    struct vconsole *con = (struct vconsole *)vd;

    if (q == RX_QUEUE && con->has_input) {
        console_port_pump(con->port);
    }
}

static void vconsole_reset(struct virtio_dev *vd)
{
    struct vconsole *con = (struct vconsole *)vd;

    if (con->has_input) {
        console_port_set_input(con->port, con->prev_input, con->prev_ctx);
        con->has_input = false;
    }
}

static const struct virtio_backend vconsole_backend = {
    .model = "virtio-console",
    .device_id = VIRTIO_ID_CONSOLE,
    .features = BIT(VIRTIO_F_INDIRECT_DESC),
    .nr_queues = 2,
    .notify = vconsole_notify,
    .after_notify = vconsole_after_notify,
    .reset = vconsole_reset,
};

static int vconsole_create(struct vm_io *io, const struct vdev_desc *desc)
{
    struct vconsole *con;

    if (!io->console) {
        pr_err("%s: a virtio-console needs the VM's console port\n", io->vm_name);
        return -1;
    }
    con = (struct vconsole *)virtio_create(io, desc, sizeof(*con), &vconsole_backend);
    if (!con) {
        return -1;
    }
    con->port = io->console;
    con->config = (struct virtio_console_config){.cols = 80, .rows = 25, .max_nr_ports = 1};
    con->vd.config = &con->config;
    con->vd.config_size = sizeof(con->config);
    return 0;
}

const struct vdev_model virtio_console_model = {.compatible = "bulkhead,virtio-console",
                                                .create = vconsole_create};
