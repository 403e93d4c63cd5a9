/* The bt86 command line. Options follow QEMU's where they overlap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"

#define BT86_VERSION "0.1"

/* Exit statuses */
enum { EXIT_HALTED = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_GUEST_RESET = 3, EXIT_LIMIT = 4 };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bt86 -bios FILE | -kernel FILE [options]\n"
            "  -bios FILE            firmware image (raw), mapped below 4 GiB and below 1 MiB\n"
            "  -kernel FILE          Multiboot kernel (ELF32, or any image using the a.out\n"
            "                        kludge), started directly without firmware\n"
            "  -append STRING        kernel command line (after the file name, as QEMU passes it)\n"
            "  -m SIZE               guest RAM, in MiB or with a M/G suffix (default 128M)\n"
            "  -serial DEV           COM1 (16550A UART at 0x3F8): stdio, file:PATH, none\n"
            "                        (default none; stdio also feeds standard input to the guest)\n"
            "  -debugcon DEV         debug console on ports 0x402/0xE9: stdio, file:PATH, none\n"
            "  -no-reboot            exit (status 3) when the guest resets the CPU, instead of\n"
            "                        rebooting\n"
            "  -d post               log every write to the POST-code port 0x80 on stderr\n"
            "  -v                    verbose: at exit, say why the run ended, the instruction\n"
            "                        count and the last POST code\n"
            "  -display none         run headless (the only display so far)\n"
            "  --engine=interp       execution engine (the interpreter is the only one so far)\n"
            "  --max-insns N         stop after N guest instructions (exit status 4)\n"
            "  -h, --help            this text\n"
            "  --version             version\n"
            "Test programs can end the run by writing N to port 0xF4 (QEMU's isa-debug-exit):\n"
            "bt86 then exits with status (N << 1) | 1.\n"
            "Exit status otherwise: 0 the guest halted, 1 error, 2 bad usage, 3 the guest reset\n"
            "with -no-reboot, got into a reset loop, or stopped on something bt86 cannot run\n"
            "yet, 4 instruction limit reached.\n"
            "Not yet available (they arrive with later work): -initrd -fda -hda -cdrom -boot\n"
            "-display sdl.\n");
}

static int parse_size(const char *s, uint64_t *bytes)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || v == 0)
        return -1;
    uint64_t mul = 1ull << 20;
    if (*end == 'M' || *end == 'm')
        end++;
    else if (*end == 'G' || *end == 'g') {
        mul = 1ull << 30;
        end++;
    }
    if (*end || v > (4ull << 30) / mul)
        return -1;
    *bytes = v * mul;
    return 0;
}

static FILE *open_chardev(const char *spec, const char *opt)
{
    if (!strcmp(spec, "stdio"))
        return stdout;
    if (!strcmp(spec, "none"))
        return NULL;
    if (!strncmp(spec, "file:", 5)) {
        FILE *f = fopen(spec + 5, "w");
        if (!f) {
            fprintf(stderr, "bt86: %s: cannot open '%s': %s\n", opt, spec + 5, strerror(errno));
            exit(EXIT_ERROR);
        }
        return f;
    }
    fprintf(stderr, "bt86: %s: unknown device '%s' (stdio, file:PATH, none)\n", opt, spec);
    exit(EXIT_USAGE);
}

static const char *const later_options[] = {
    "-initrd", "-fda", "-fdb", "-hda", "-hdb", "-cdrom", "-boot",
};

static const char *result_text(enum machine_result r)
{
    switch (r) {
    case MACHINE_HALTED: return "the guest halted";
    case MACHINE_RESET: return "the guest reset the CPU";
    case MACHINE_RESET_LOOP: return "the guest was caught in a reset loop";
    case MACHINE_LIMIT: return "the instruction limit was reached";
    case MACHINE_STOPPED: return "the guest stopped on something bt86 cannot run yet";
    case MACHINE_EXIT: return "the guest wrote the exit port";
    }
    return "?";
}

int main(int argc, char **argv)
{
    struct machine_config cfg = {.ram_bytes = 128ull << 20, .serial_in_fd = -1};
    bool verbose = false, serial_given = false;
    for (int a = 1; a < argc; a++) {
        const char *o = argv[a];
        const char *val = a + 1 < argc ? argv[a + 1] : NULL;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(o, "--version")) {
            printf("bt86 %s\n", BT86_VERSION);
            return 0;
        }
        if (!strncmp(o, "--engine=", 9)) {
            if (strcmp(o + 9, "interp")) {
                fprintf(stderr, "bt86: engine '%s' is not available; use --engine=interp\n", o + 9);
                return EXIT_USAGE;
            }
            continue;
        }
        if (!strcmp(o, "-no-reboot")) {
            cfg.no_reboot = true;
            continue;
        }
        if (!strcmp(o, "-v")) {
            verbose = true;
            continue;
        }
        for (size_t k = 0; k < sizeof(later_options) / sizeof(later_options[0]); k++) {
            if (!strcmp(o, later_options[k])) {
                fprintf(stderr, "bt86: %s is not supported yet\n", o);
                return EXIT_USAGE;
            }
        }
        if (!val) {
            fprintf(stderr, "bt86: unknown option or missing value: %s (see --help)\n", o);
            return EXIT_USAGE;
        }
        a++;
        if (!strcmp(o, "-bios")) {
            cfg.bios_path = val;
        } else if (!strcmp(o, "-kernel")) {
            cfg.kernel_path = val;
        } else if (!strcmp(o, "-append")) {
            cfg.append = val;
        } else if (!strcmp(o, "-m")) {
            if (parse_size(val, &cfg.ram_bytes)) {
                fprintf(stderr, "bt86: -m: bad size '%s'\n", val);
                return EXIT_USAGE;
            }
        } else if (!strcmp(o, "-debugcon")) {
            cfg.debug_out = open_chardev(val, "-debugcon");
        } else if (!strcmp(o, "-serial")) {
            if (serial_given) {
                fprintf(stderr, "bt86: -serial: only one serial port (COM1) so far\n");
                return EXIT_USAGE;
            }
            serial_given = true;
            cfg.serial_out = open_chardev(val, "-serial");
            if (!strcmp(val, "stdio")) {
                cfg.serial_input = true;
                cfg.serial_in_fd = 0;
            }
        } else if (!strcmp(o, "-d")) {
            /* A comma-separated list, as QEMU's -d; only POST logging exists so far. */
            char items[256];
            snprintf(items, sizeof(items), "%s", val);
            for (char *save, *it = strtok_r(items, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
                if (strcmp(it, "post")) {
                    fprintf(stderr, "bt86: -d: unknown item '%s' (known: post)\n", it);
                    return EXIT_USAGE;
                }
                cfg.post_log = stderr;
            }
        } else if (!strcmp(o, "-display")) {
            if (strcmp(val, "none")) {
                fprintf(stderr, "bt86: -display %s is not supported yet; use -display none\n", val);
                return EXIT_USAGE;
            }
        } else if (!strcmp(o, "--max-insns")) {
            char *end;
            cfg.max_insns = strtoull(val, &end, 10);
            if (*end || !cfg.max_insns) {
                fprintf(stderr, "bt86: --max-insns: bad count '%s'\n", val);
                return EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "bt86: unknown option %s (see --help)\n", o);
            return EXIT_USAGE;
        }
    }
    if (!cfg.bios_path && !cfg.kernel_path) {
        fprintf(stderr, "bt86: nothing to run: give a firmware image with -bios FILE or a "
                "Multiboot kernel with -kernel FILE\n");
        return EXIT_USAGE;
    }
    if (cfg.bios_path && cfg.kernel_path) {
        fprintf(stderr, "bt86: -kernel starts the kernel without firmware; drop -bios (firmware "
                "that loads the kernel itself comes later)\n");
        return EXIT_USAGE;
    }
    if (cfg.append && !cfg.kernel_path) {
        fprintf(stderr, "bt86: -append is only allowed with -kernel\n");
        return EXIT_USAGE;
    }

    static struct machine m;
    char err[512];
    if (machine_create(&m, &cfg, err, sizeof(err))) {
        fprintf(stderr, "bt86: %s\n", err);
        return EXIT_ERROR;
    }
    enum machine_result r = machine_run(&m);
    int status = EXIT_HALTED;
    switch (r) {
    case MACHINE_HALTED: break;
    case MACHINE_RESET:
    case MACHINE_RESET_LOOP:
    case MACHINE_STOPPED: status = EXIT_GUEST_RESET; break;
    case MACHINE_LIMIT: status = EXIT_LIMIT; break;
    case MACHINE_EXIT: status = m.exit_status; break;
    }
    fflush(stdout);
    /* How far the guest got helps most when it did not finish normally. */
    bool abnormal = r != MACHINE_HALTED && r != MACHINE_EXIT;
    if (verbose) {
        fprintf(stderr, "bt86: %s (exit status %d) after %llu instructions, %u reset%s", result_text(r),
                status, (unsigned long long)m.insns, m.resets, m.resets == 1 ? "" : "s");
        if (m.testdev.post_written)
            fprintf(stderr, "; last POST code 0x%02x", m.testdev.post);
        fprintf(stderr, "\n");
    } else if (abnormal && m.testdev.post_written) {
        fprintf(stderr, "bt86: last POST code 0x%02x\n", m.testdev.post);
    }
    if (cfg.debug_out && cfg.debug_out != stdout)
        fclose(cfg.debug_out);
    if (cfg.serial_out && cfg.serial_out != stdout && cfg.serial_out != cfg.debug_out)
        fclose(cfg.serial_out);
    machine_destroy(&m);
    return status;
}
