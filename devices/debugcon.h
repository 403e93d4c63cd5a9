/* The Bochs/QEMU debug console: a byte written to port 0x402 (SeaBIOS) or 0xE9 appears on the
 * host. Reading the port returns 0xE9, which is how firmware detects it. */
#ifndef BT86_DEBUGCON_H
#define BT86_DEBUGCON_H

#include <stdio.h>

#include "devices/device.h"
#include "devices/ioport.h"

struct debugcon {
    struct device dev; /* no guest-visible state: reset and save/load are empty */
    FILE *out;
};

int debugcon_attach(struct debugcon *d, struct ioport_bus *bus, uint16_t port, FILE *out);

#endif
