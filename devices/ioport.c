#include "devices/ioport.h"

#include <string.h>

void ioport_init(struct ioport_bus *b)
{
    memset(b, 0, sizeof(*b));
    b->count = 1;
}

int ioport_register(struct ioport_bus *b, uint16_t first, unsigned count,
                    const struct ioport_ops *ops, void *opaque)
{
    if (b->count >= IOPORT_MAX_HANDLERS || count == 0 || (uint32_t)first + count > 65536)
        return -1;
    for (unsigned p = first; p < first + count; p++)
        if (b->owner[p])
            return -1;
    unsigned idx = b->count++;
    b->handlers[idx].ops = ops;
    b->handlers[idx].opaque = opaque;
    for (unsigned p = first; p < first + count; p++)
        b->owner[p] = (uint8_t)idx;
    return 0;
}

uint32_t ioport_read(void *bus, uint16_t port, unsigned size)
{
    struct ioport_bus *b = bus;
    unsigned idx = b->owner[port];
    if (!idx || !b->handlers[idx].ops->read)
        return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
    return b->handlers[idx].ops->read(b->handlers[idx].opaque, port, size);
}

void ioport_write(void *bus, uint16_t port, uint32_t value, unsigned size)
{
    struct ioport_bus *b = bus;
    unsigned idx = b->owner[port];
    if (idx && b->handlers[idx].ops->write)
        b->handlers[idx].ops->write(b->handlers[idx].opaque, port, value, size);
}
