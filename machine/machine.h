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
#include "machine/pc.h"
#include "translator/translator.h"
#include "mmu/memmap.h"

#define COM1_BASE 0x3F8

/* A reset loop: this many resets in a row, each after a boot shorter than
 * RESET_LOOP_INSNS instructions, end the run instead of spinning on. */
#define RESET_LOOP_MAX 8
#define RESET_LOOP_INSNS 100000000ull

#define MACHINE_MAX_DEVICES 32
#define MACHINE_MAX_SCRIPT 16

enum machine_board {
    BOARD_BARE, /* RAM, firmware or kernel, COM1, debug console, test ports: no chipset */
    BOARD_PC,   /* the PC (machine/pc.h) for SeaBIOS and real operating systems */
};

/* What executes guest code (DESIGN decision 8: the interpreter is the reference). */
enum machine_engine {
    ENGINE_INTERP,     /* the interpreter alone */
    ENGINE_TRANSLATOR, /* hot blocks translated to host code (translator/) */
    ENGINE_COMPARE,    /* both in lockstep, stopping at the first divergence */
};

/* Headless test steps on the PC's VGA text screen, run in order. */
enum script_kind {
    SCRIPT_WAIT_TEXT,   /* wait until the screen shows the text */
    SCRIPT_EXPECT_TEXT, /* wait for the text, then end the run with status 0 */
    SCRIPT_TYPE,        /* type the text on the PS/2 keyboard */
};
struct script_step {
    enum script_kind kind;
    const char *text;
};

/* How virtual time relates to the host's (DESIGN decision 7). */
enum machine_clock {
    MACHINE_CLOCK_VIRTUAL,  /* 1 instruction = 1 ns, idle time skipped: reproducible, headless */
    MACHINE_CLOCK_REALTIME, /* the same, but never ahead of host time: a window a person uses */
};

/* Host time between calls of the frontend's tick (input, frames). */
#define MACHINE_TICK_NS 10000000ull

struct machine_config {
    enum machine_board board;
    enum machine_clock clock;
    struct pc_config pc;
    struct script_step script[MACHINE_MAX_SCRIPT];
    unsigned script_len;
    uint64_t time_limit_ns;  /* PC: virtual time limit, 0 = none */
    uint64_t ram_bytes;
    const char *bios_path;   /* raw firmware image, mapped below 4 GiB and at the top of 1 MiB */
    const char *kernel_path; /* bare board: Multiboot kernel, run without firmware (excludes
                              * bios_path); PC: Linux bzImage booted by SeaBIOS (linuxboot.h) */
    const char *append;      /* its arguments (-append), after the file name as QEMU passes them */
    const char *initrd_path; /* PC: the Linux kernel's initrd (-initrd), NULL: none */
    const char *linuxboot_rom; /* PC: bt86's option ROM that boots a -kernel (roms/linuxboot.bin) */
    FILE *debug_out;         /* where the 0x402/0xE9 debug console goes (NULL: discarded) */
    FILE *serial_out;        /* COM1 output (NULL: discarded) */
    bool serial_input;       /* COM1 reads host input from serial_in_fd */
    int serial_in_fd;
    FILE *post_log;          /* log of POST-code writes (NULL: none) */
    bool no_reboot;          /* a CPU shutdown ends the run instead of resetting */
    enum machine_engine engine;
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

    struct pc *pc;           /* NULL on the bare board */
    struct translator *translator; /* NULL with the interpreter engine */
    struct translator_compare *compare; /* compare engine only */
    bool reset_requested;    /* a chipset or keyboard-controller reset is due */
    bool reset_hard;         /* ... of the whole board, not only the CPU (INIT) */
    const char *reset_why;   /* what asked for it, for the log */
    struct script_step script[MACHINE_MAX_SCRIPT];
    unsigned script_len, script_pos;
    size_t typed;            /* characters of the current SCRIPT_TYPE step used so far */
    uint64_t next_screen_check; /* virtual ns */
    uint64_t time_limit_ns;
    uint64_t text_found_ns;  /* virtual time at which SCRIPT_EXPECT_TEXT matched */

    uint64_t max_insns;
    uint64_t insns;          /* executed over all boots */
    bool no_reboot;
    unsigned resets;         /* resets done by the run loop */
    unsigned quick_resets;   /* of those, consecutive ones after a short boot */
    bool exit_requested;     /* the guest wrote the exit port */
    bool poweroff_requested; /* the guest powered the PC off (ACPI S5) */
    int exit_status;

    enum machine_clock clock;
    /* The frontend's hook, called between slices about every MACHINE_TICK_NS of host time
     * (also while the guest idles in realtime runs); false ends the run with MACHINE_QUIT. */
    bool (*tick)(void *opaque, struct machine *m);
    void *tick_opaque;
    uint64_t next_tick;      /* host ns (CLOCK_MONOTONIC) */
    uint64_t host_base, virt_base; /* realtime: virtual time virt_base was host time host_base */
};

/* Reads a whole file of at most `max` bytes. Returns NULL with a message in err. */
uint8_t *machine_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen);
/* Adds a device to the reset (and snapshot) list. 0, or -1 when the table is full. */
int machine_add_device(struct machine *m, struct device *d);

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
    MACHINE_TEXT_FOUND, /* the expected text appeared on the screen */
    MACHINE_TIME_LIMIT, /* the virtual time limit was reached */
    MACHINE_QUIT,       /* the frontend's tick asked to stop (the window was closed) */
    MACHINE_POWEROFF,   /* the guest powered the machine off */
};
enum machine_result machine_run(struct machine *m);
/* Host monotonic time in ns, the clock realtime runs and ticks follow. */
uint64_t machine_host_ns(void);
/* Virtual time in ns (0 on the bare board, which has no clock). */
uint64_t machine_now(const struct machine *m);

#endif
