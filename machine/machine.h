/* A board built from a configuration: RAM, firmware ROM or a Multiboot kernel, devices, and the
 * run loop with the PC's reset behaviour. */
#ifndef BT86_MACHINE_H
#define BT86_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/cpu.h"
#include "devices/debugcon.h"
#include "devices/device.h"
#include "devices/ioport.h"
#include "devices/testdev.h"
#include "devices/uart16550.h"
#include "machine/multiboot.h"
#include "mmu/memmap.h"

#define COM1_BASE 0x3F8

/* A reset loop: this many resets in a row, each after a boot shorter than
 * RESET_LOOP_INSNS instructions, end the run instead of spinning on. */
#define RESET_LOOP_MAX 8
#define RESET_LOOP_INSNS 100000000ull

#define MACHINE_MAX_DEVICES 16

struct machine_config {
    uint64_t ram_bytes;
    const char *bios_path;   /* raw firmware image, mapped below 4 GiB and at the top of 1 MiB */
    const char *kernel_path; /* Multiboot kernel, run without firmware (excludes bios_path) */
    const char *append;      /* its arguments (-append), after the file name as QEMU passes them */
    FILE *debug_out;         /* where the 0x402/0xE9 debug console goes (NULL: discarded) */
    FILE *serial_out;        /* COM1 output (NULL: discarded) */
    bool serial_input;       /* COM1 reads host input from serial_in_fd */
    int serial_in_fd;
    FILE *post_log;          /* log of POST-code writes (NULL: none) */
    bool no_reboot;          /* a CPU shutdown ends the run instead of resetting */
    uint64_t max_insns;      /* 0 = unlimited */
};

struct machine {
    struct memmap mem;
    struct cpu cpu;
    struct ioport_bus io;
    struct debugcon debugcon_402, debugcon_e9;
    struct uart16550 com1;
    struct testdev testdev;
    struct device *devices[MACHINE_MAX_DEVICES]; /* reset (and later snapshot) order */
    unsigned ndevices;

    /* -kernel: the image stays in memory and is loaded again at every reset, as QEMU's
     * loader runs again after a reboot. */
    uint8_t *kernel;
    size_t kernel_len;
    struct mb_image mb;
    char *kernel_cmdline;

    uint64_t max_insns;
    uint64_t insns;          /* executed over all boots */
    bool no_reboot;
    unsigned resets;         /* resets done by the run loop */
    unsigned quick_resets;   /* of those, consecutive ones after a short boot */
    bool exit_requested;     /* the guest wrote the exit port */
    int exit_status;
};

/* Builds the machine. On failure returns -1 with a message for the user in err. */
int machine_create(struct machine *m, const struct machine_config *cfg, char *err, size_t errlen);
void machine_destroy(struct machine *m);

/* What a PC does on RESET: the CPU restarts, devices return to their reset state, RAM is kept.
 * With a kernel, the kernel is loaded again and entered. Returns 0, or -1 with a message. */
int machine_reset(struct machine *m, char *err, size_t errlen);

enum machine_result {
    MACHINE_HALTED,     /* HLT with nothing to wake the CPU */
    MACHINE_RESET,      /* CPU shutdown with no_reboot, or a reset that failed */
    MACHINE_RESET_LOOP, /* RESET_LOOP_MAX quick resets in a row */
    MACHINE_LIMIT,      /* max_insns reached */
    MACHINE_STOPPED,    /* the CPU stopped on something it cannot run yet */
    MACHINE_EXIT,       /* the guest wrote the exit port: exit_status */
};
enum machine_result machine_run(struct machine *m);

#endif
