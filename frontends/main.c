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
            "usage: bt86 [options]\n"
            "  -bios FILE            firmware image (raw), mapped below 4 GiB and below 1 MiB\n"
            "  -m SIZE               guest RAM, in MiB or with a M/G suffix (default 128M)\n"
            "  -debugcon DEV         debug console on ports 0x402/0xE9: stdio, file:PATH, none\n"
            "  -display none         run headless (the only display so far)\n"
            "  --engine=interp       execution engine (the interpreter is the only one so far)\n"
            "  --max-insns N         stop after N guest instructions (exit status 4)\n"
            "  -h, --help            this text\n"
            "  --version             version\n"
            "Exit status: 0 the guest halted, 1 error, 2 bad usage, 3 the guest reset or\n"
            "stopped on something bt86 cannot run yet, 4 instruction limit reached.\n"
            "Not yet available (they arrive with later work): -kernel -initrd -append -fda\n"
            "-hda -cdrom -boot -serial -display sdl.\n");
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
    "-kernel", "-initrd", "-append", "-fda", "-fdb", "-hda", "-hdb", "-cdrom", "-boot", "-serial",
};

int main(int argc, char **argv)
{
    struct machine_config cfg = {.ram_bytes = 128ull << 20};
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
        } else if (!strcmp(o, "-m")) {
            if (parse_size(val, &cfg.ram_bytes)) {
                fprintf(stderr, "bt86: -m: bad size '%s'\n", val);
                return EXIT_USAGE;
            }
        } else if (!strcmp(o, "-debugcon")) {
            cfg.debug_out = open_chardev(val, "-debugcon");
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
    if (!cfg.bios_path) {
        fprintf(stderr, "bt86: nothing to run: give a firmware image with -bios FILE\n");
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
        fprintf(stderr, "bt86: the guest reset the machine (triple fault or unsupported state)\n");
        status = EXIT_GUEST_RESET;
        break;
    case MACHINE_STOPPED: status = EXIT_GUEST_RESET; break;
    case MACHINE_LIMIT: status = EXIT_LIMIT; break;
    }
    fflush(stdout);
    if (cfg.debug_out && cfg.debug_out != stdout)
        fclose(cfg.debug_out);
    machine_destroy(&m);
    return status;
}
