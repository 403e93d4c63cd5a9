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
    if (count == 0 || (uint32_t)first + count > 65536)
        return -1;
    for (unsigned p = first; p < first + count; p++)
        if (b->owner[p])
            return -1;
    /* A moved window comes back with the same ops and opaque: reuse its slot, so moving it
     * any number of times never fills the table. */
    unsigned idx = 0;
    for (unsigned i = 1; i < b->count; i++)
        if (b->handlers[i].ops == ops && b->handlers[i].opaque == opaque)
            idx = i;
    if (!idx) {
        if (b->count >= IOPORT_MAX_HANDLERS)
            return -1;
        idx = b->count++;
        b->handlers[idx].ops = ops;
        b->handlers[idx].opaque = opaque;
    }
    for (unsigned p = first; p < first + count; p++)
        b->owner[p] = (uint8_t)idx;
    return 0;
}

void ioport_unregister(struct ioport_bus *b, uint16_t first, unsigned count, void *opaque)
{
    for (uint32_t p = first; p < (uint32_t)first + count && p < 65536; p++)
        if (b->owner[p] && b->handlers[b->owner[p]].opaque == opaque)
            b->owner[p] = 0;
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
