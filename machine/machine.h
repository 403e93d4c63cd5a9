/* A board built from a configuration: RAM, firmware ROM, devices, and the run loop. */
#ifndef BT86_MACHINE_H
#define BT86_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/cpu.h"
#include "devices/debugcon.h"
#include "devices/ioport.h"
#include "mmu/memmap.h"

struct machine_config {
    uint64_t ram_bytes;
    const char *bios_path;  /* raw firmware image, mapped below 4 GiB and at the top of 1 MiB */
    FILE *debug_out;        /* where the 0x402/0xE9 debug console goes (NULL: discarded) */
    uint64_t max_insns;     /* 0 = unlimited */
};

struct machine {
    struct memmap mem;
    struct cpu cpu;
    struct ioport_bus io;
    struct debugcon debugcon_402, debugcon_e9;
    uint64_t max_insns;
};

/* Builds the machine. On failure returns -1 with a message for the user in err. */
int machine_create(struct machine *m, const struct machine_config *cfg, char *err, size_t errlen);
void machine_destroy(struct machine *m);

enum machine_result { MACHINE_HALTED, MACHINE_RESET, MACHINE_LIMIT, MACHINE_STOPPED };
enum machine_result machine_run(struct machine *m);

#endif
