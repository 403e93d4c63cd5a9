/* Ports for bare-metal test programs.
 *
 * 0xF4-0xF7, the exit port of QEMU's isa-debug-exit (as configured with iobase=0xf4,
 * iosize=4): a write of N, of any width, ends the run with host exit status (N << 1) | 1, of
 * which the host keeps the low 8 bits. A test therefore never exits 0 through it; pick codes
 * whose status does not collide with bt86's own (1 error, 3 reset/unsupported).
 *
 * 0x80, the POST-code port: keeps the last byte written, like a POST card's display (a reset
 * does not clear it). Reads return it. */
#ifndef BT86_TESTDEV_H
#define BT86_TESTDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "devices/device.h"
#include "devices/ioport.h"

#define TESTDEV_EXIT_PORT 0xF4
#define TESTDEV_POST_PORT 0x80

struct testdev {
    struct device dev;
    /* The machine ends the run when the guest asks; the device does not know how. */
    void (*on_exit)(void *opaque, int status);
    void *exit_opaque;
    FILE *post_log; /* every POST write is logged here when set (-d post) */
    uint8_t post;
    bool post_written;
};

int testdev_attach(struct testdev *t, struct ioport_bus *bus,
                   void (*on_exit)(void *opaque, int status), void *exit_opaque, FILE *post_log);

#endif
