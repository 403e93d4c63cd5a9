#include "devices/debugcon.h"

static uint32_t debugcon_read(void *opaque, uint16_t port, unsigned size)
{
    (void)opaque;
    (void)port;
    (void)size;
    return 0xE9;
}

static void debugcon_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    (void)port;
    (void)size;
    struct debugcon *d = opaque;
    if (d->out) {
        fputc((int)(value & 0xFF), d->out);
        if ((value & 0xFF) == '\n')
            fflush(d->out);
    }
}

static const struct ioport_ops debugcon_ops = {debugcon_read, debugcon_write};

static const struct device_ops debugcon_device_ops = {.name = "debugcon", .state_version = 1};

int debugcon_attach(struct debugcon *d, struct ioport_bus *bus, uint16_t port, FILE *out)
{
    d->dev = (struct device){&debugcon_device_ops, d};
    d->out = out;
    return ioport_register(bus, port, 1, &debugcon_ops, d);
}
