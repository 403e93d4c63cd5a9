#include "devices/testdev.h"

#include <string.h>

static uint32_t exit_read(void *opaque, uint16_t port, unsigned size)
{
    (void)opaque;
    (void)port;
    return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1; /* write-only, like the ISA bus */
}

static void exit_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    (void)port;
    (void)size; /* the CPU already truncated the value to the access width */
    struct testdev *t = opaque;
    int status = (int)((((uint64_t)value << 1) | 1) & 0xFF);
    if (t->on_exit)
        t->on_exit(t->exit_opaque, status);
}

static uint32_t post_read(void *opaque, uint16_t port, unsigned size)
{
    (void)port;
    struct testdev *t = opaque;
    /* Wider reads reach ports 0x81.. which nobody answers yet. */
    uint32_t high = size == 4 ? 0xFFFFFF00u : ((1u << (8 * size)) - 1) & ~0xFFu;
    return t->post | high;
}

static void post_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    (void)port;
    (void)size;
    struct testdev *t = opaque;
    t->post = (uint8_t)value;
    t->post_written = true;
    if (t->post_log) {
        fprintf(t->post_log, "bt86: POST 0x%02x\n", t->post);
        fflush(t->post_log);
    }
}

static const struct ioport_ops exit_ops = {exit_read, exit_write};
static const struct ioport_ops post_ops = {post_read, post_write};

static void testdev_save(const void *opaque, struct state_writer *w)
{
    const struct testdev *t = opaque;
    sw_u8(w, t->post);
    sw_u8(w, t->post_written);
}

static int testdev_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct testdev *t = opaque;
    uint8_t post = sr_u8(r), written = sr_u8(r);
    if (version != 1 || r->error || written > 1)
        return -1;
    t->post = post;
    t->post_written = written;
    return 0;
}

/* No reset hook: the POST latch survives a reset on purpose (it shows how far the last boot
 * got), and the exit port has no state. */
static const struct device_ops testdev_device_ops = {
    .name = "testdev",
    .state_version = 1,
    .save = testdev_save,
    .load = testdev_load,
};

int testdev_attach(struct testdev *t, struct ioport_bus *bus,
                   void (*on_exit)(void *opaque, int status), void *exit_opaque, FILE *post_log)
{
    memset(t, 0, sizeof(*t));
    t->dev = (struct device){&testdev_device_ops, t};
    t->on_exit = on_exit;
    t->exit_opaque = exit_opaque;
    t->post_log = post_log;
    if (ioport_register(bus, TESTDEV_EXIT_PORT, 4, &exit_ops, t))
        return -1;
    return ioport_register(bus, TESTDEV_POST_PORT, 1, &post_ops, t);
}
