/* The I/O port space: devices claim port ranges; unclaimed reads return all-ones and
 * unclaimed writes are dropped, as on an ISA bus with nothing answering. */
#ifndef BT86_IOPORT_H
#define BT86_IOPORT_H

#include <stdint.h>

struct ioport_ops {
    uint32_t (*read)(void *opaque, uint16_t port, unsigned size);
    void (*write)(void *opaque, uint16_t port, uint32_t value, unsigned size);
};

#define IOPORT_MAX_HANDLERS 64

struct ioport_bus {
    uint8_t owner[65536]; /* handler index per port, 0 = none */
    struct {
        const struct ioport_ops *ops;
        void *opaque;
    } handlers[IOPORT_MAX_HANDLERS];
    unsigned count;
};

void ioport_init(struct ioport_bus *b);
/* Returns 0, or -1 if the range overlaps a claimed one or the table is full. */
int ioport_register(struct ioport_bus *b, uint16_t first, unsigned count,
                    const struct ioport_ops *ops, void *opaque);
/* Releases ports first..first+count-1 that `opaque` owns (others are left alone), so a device
 * whose window moves (a PCI I/O BAR) can register again elsewhere; registering the same ops and
 * opaque again reuses their handler slot. */
void ioport_unregister(struct ioport_bus *b, uint16_t first, unsigned count, void *opaque);
uint32_t ioport_read(void *bus, uint16_t port, unsigned size);
void ioport_write(void *bus, uint16_t port, uint32_t value, unsigned size);

#endif
