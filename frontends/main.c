/* The bt86 command line. Options follow QEMU's where they overlap. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "devices/mc146818.h"
#include "frontends/window.h"
#include "machine/linuxboot.h"
#include "machine/machine.h"

#define BT86_VERSION "0.1"

/* Exit statuses */
enum { EXIT_HALTED = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_GUEST_RESET = 3, EXIT_LIMIT = 4,
       EXIT_DIVERGED = 5 };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bt86 [-M pc] [-fda IMG] [-hda IMG] [-cdrom ISO] [options]\n"
            "       bt86 -kernel bzImage [-initrd FILE] [-append STRING] [options]\n"
            "       bt86 -bios FILE | -M bare -kernel FILE [options]\n"
            "       bt86 [options]        with no medium, kernel or -bios: the default Linux\n"
            "                             guest (scripts/build-guest.sh), serial on stdio\n"
            "  -M pc|bare            board: the PC (i440FX/PIIX3 chipset, PIC, PIT, RTC, 8042,\n"
            "                        floppy, IDE, VGA, fw_cfg) running SeaBIOS; or the bare test\n"
            "                        machine (RAM, firmware or kernel, COM1, debug and exit ports).\n"
            "                        Default: pc when a medium or a Linux -kernel is given, or\n"
            "                        neither -bios nor -kernel is; bare otherwise\n"
            "  -fda IMG, -hda IMG    floppy (raw 160K-2.88M image) / IDE primary master disk\n"
            "  -cdrom ISO            IDE secondary master CD-ROM\n"
            "  -boot ORDER           PC boot order, up to 3 of a (floppy), c (disk), d (CD);\n"
            "                        default cad. 'menu=on' shows SeaBIOS's boot menu\n"
            "  --read-only           open -fda/-hda read-only (guest writes fail)\n"
            "  -rtc base=utc|localtime|YYYY-MM-DD[THH:MM:SS]\n"
            "                        the PC's clock at power-on (default: host time, UTC)\n"
            "  --time-limit MS       PC: stop after MS ms of virtual time (exit status 4)\n"
            "  --wait-text TEXT      PC test steps, run in order: wait until the VGA text screen\n"
            "  --type TEXT           shows TEXT; type TEXT on the keyboard (\\n or \\r: Enter, \\e: Esc);\n"
            "  --expect-text TEXT    wait for TEXT, then end the run with status 0\n"
            "  --print-screen        PC: print the VGA text screen on standard output at exit\n"
            "  --screenshot PATH     PC: write the screen as a PNG at exit\n"
            "  -bios FILE            firmware image (raw), mapped below 4 GiB and below 1 MiB; on\n"
            "                        the PC, SeaBIOS from roms/seabios next to bt86 by default\n"
            "  -kernel FILE          PC: a Linux bzImage, booted by SeaBIOS through bt86's\n"
            "                        option ROM (boot protocol 2.02+). Bare board: a\n"
            "                        Multiboot kernel (ELF32, or any image using the a.out\n"
            "                        kludge), started directly without firmware\n"
            "  -append STRING        kernel command line (Multiboot: after the file name, as\n"
            "                        QEMU passes it)\n"
            "  -initrd FILE          PC: the Linux kernel's initial RAM disk\n"
            "  -m SIZE               guest RAM, in MiB or with a M/G suffix (default 128M)\n"
            "  -serial DEV           COM1 (16550A UART at 0x3F8): stdio, file:PATH, none\n"
            "                        (default none; stdio also feeds standard input to the guest);\n"
            "                        a second -serial is COM2 (0x2F8, IRQ 3, output only)\n"
            "  -debugcon DEV         debug console on ports 0x402/0xE9: stdio, file:PATH, none\n"
            "  -no-reboot            exit (status 3) when the guest resets the CPU, instead of\n"
            "                        rebooting\n"
            "  -d post               log every write to the POST-code port 0x80 on stderr\n"
            "  -v                    verbose: at exit, say why the run ended, the instruction\n"
            "                        count and the last POST code\n"
            "  -display sdl|none     PC: sdl shows the screen in a window that takes keyboard and\n"
            "                        mouse (click to grab the mouse, Ctrl+Alt+G to release it;\n"
            "                        closing the window ends the run, status 0); none runs\n"
            "                        headless. Default: sdl when DISPLAY or WAYLAND_DISPLAY is\n"
            "                        set, else none; a window that cannot open means headless\n"
            "  -name NAME            the name in the window title (default: the boot medium's\n"
            "                        file name)\n"
            "  --clock=virtual|realtime\n"
            "                        PC: virtual time is 1 ns per instruction, idle time skipped\n"
            "                        (reproducible); realtime also keeps it from running ahead\n"
            "                        of host time, sleeping while the guest idles. Default:\n"
            "                        realtime with a window, virtual without\n"
            "  --engine=interp|translator|compare\n"
            "                        execution engine: the interpreter, the binary translator\n"
            "                        (hot blocks run as host code), or both in lockstep,\n"
            "                        stopping at the first divergence with a report (exit\n"
            "                        status 5). Default: translator, or the BT86_ENGINE\n"
            "                        environment variable\n"
            "  --max-insns N         stop after N guest instructions (exit status 4)\n"
            "  -h, --help            this text\n"
            "  --version             version\n"
            "Test programs can end the run by writing N to port 0xF4 (QEMU's isa-debug-exit):\n"
            "bt86 then exits with status (N << 1) | 1.\n"
            "Exit status otherwise: 0 the guest halted, 1 error, 2 bad usage, 3 the guest reset\n"
            "with -no-reboot, got into a reset loop, or stopped on something bt86 cannot run\n"
            "yet, 4 instruction limit reached.\n"
            "Not yet available (they arrive with later work): -fdb -hdb.\n");
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
    "-fdb", "-hdb",
};

/* "\n", "\r" (both Enter), "\t", "\e" (Esc) and "\\" escapes: a shell cannot pass those keys
 * easily. */
static char *unescape(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out) {
        fprintf(stderr, "bt86: out of memory\n");
        exit(EXIT_ERROR);
    }
    for (; *s; s++) {
        char c = *s;
        if (c == '\\' && s[1] && strchr("nrte\\", s[1])) {
            c = *++s;
            c = c == 'n' || c == 'r' ? '\n' : c == 't' ? '\t' : c == 'e' ? '\x1b' : c;
        } else if (c == '\r') {
            c = '\n';
        }
        *o++ = c;
    }
    *o = 0;
    return out;
}

static int parse_rtc(const char *val, struct tm *tm)
{
    if (strncmp(val, "base=", 5))
        return -1;
    val += 5;
    time_t now = time(NULL);
    if (!strcmp(val, "utc"))
        return gmtime_r(&now, tm) ? 0 : -1;
    if (!strcmp(val, "localtime"))
        return localtime_r(&now, tm) ? 0 : -1;
    memset(tm, 0, sizeof(*tm));
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (sscanf(val, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
        return -1;
    if (val[n] == 'T' && sscanf(val + n, "T%2d:%2d:%2d%n", &h, &mi, &sec, &n) == 3)
        n += (int)(strchr(val, 'T') - val);
    else if (val[n])
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 || y < 1900 ||
        y > 2099 || h < 0 || mi < 0 || sec < 0)
        return -1;
    tm->tm_year = y - 1900;
    tm->tm_mon = mo - 1;
    tm->tm_mday = d;
    tm->tm_hour = h;
    tm->tm_min = mi;
    tm->tm_sec = sec;
    return 0;
}

/* roms/NAME in the build tree that holds this executable, in path[4096], if it exists. */
static char *beside_executable(const char *name, char path[4096])
{
    ssize_t n = readlink("/proc/self/exe", path, 4095);
    if (n <= 0)
        return NULL;
    path[n] = 0;
    char *slash = strrchr(path, '/');
    if (!slash)
        return NULL;
    size_t room = 4096 - (size_t)(slash + 1 - path);
    if ((size_t)snprintf(slash + 1, room, "roms/%s", name) >= room)
        return NULL;
    return access(path, R_OK) == 0 ? path : NULL;
}

/* -serial stdio on a terminal: keys go to the guest as they are typed, for its shell to echo
 * and edit (as QEMU does); Ctrl-C still ends bt86. The terminal is restored at exit. */
static struct termios saved_tio;
static bool tio_saved;

static void restore_terminal(void)
{
    if (tio_saved)
        tcsetattr(0, TCSANOW, &saved_tio);
}

static void restore_terminal_and_die(int sig)
{
    restore_terminal();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void serial_terminal_raw(void)
{
    if (!isatty(0) || tcgetattr(0, &saved_tio))
        return;
    struct termios t = saved_tio;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ECHONL | IEXTEN);
    t.c_iflag &= ~(tcflag_t)(ICRNL | INLCR | IGNCR | IXON | ISTRIP);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(0, TCSANOW, &t))
        return;
    tio_saved = true;
    atexit(restore_terminal);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], restore_terminal_and_die);
}

/* Whether -kernel names a Linux bzImage (the PC boots it) rather than a Multiboot kernel. */
static bool kernel_is_linux(const char *path)
{
    uint8_t head[LH_HEADER + 4];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false; /* the loader reports why it cannot be opened */
    size_t n = fread(head, 1, sizeof(head), f);
    fclose(f);
    return linux_is_bzimage(head, n);
}

#ifndef BT86_GUEST_DIR
#define BT86_GUEST_DIR "build/guest"
#endif
/* Both consoles show the boot and a shell; the crypto self-tests would double the boot. */
#define DEFAULT_GUEST_APPEND "console=ttyS0 console=tty0 cryptomgr.notests"

/* The default guest (scripts/build-guest.sh): kernel and initramfs in BT86_GUEST_DIR, or in
 * the directory the environment variable of that name gives. False if it is not built. */
static bool default_guest(struct machine_config *cfg)
{
    static char kernel[4096], initrd[4096];
    const char *dir = getenv("BT86_GUEST_DIR");
    if (!dir || !*dir)
        dir = BT86_GUEST_DIR;
    snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
    snprintf(initrd, sizeof(initrd), "%s/initrd.gz", dir);
    if (access(kernel, R_OK) || access(initrd, R_OK)) {
        fprintf(stderr, "bt86: the default Linux guest is not built (no %s): run "
                "scripts/build-guest.sh, or give a medium, -kernel or -bios (see --help)\n",
                kernel);
        return false;
    }
    cfg->kernel_path = kernel;
    cfg->initrd_path = initrd;
    if (!cfg->append)
        cfg->append = DEFAULT_GUEST_APPEND;
    return true;
}

/* The file name of the medium the PC boots first, for the window title. */
static const char *boot_medium_name(const struct pc_config *pc)
{
    const char *order = pc->boot_order ? pc->boot_order : "cad";
    const char *path = NULL;
    for (const char *o = order; *o && !path; o++)
        path = *o == 'a' ? pc->fda : *o == 'c' ? pc->hda : *o == 'd' ? pc->cdrom : NULL;
    if (!path)
        path = pc->fda ? pc->fda : pc->hda ? pc->hda : pc->cdrom;
    if (!path)
        return "pc";
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static double host_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_screen(struct machine *m, FILE *f)
{
    static char text[16384];
    struct vga_text_info info;
    vga_read_text(&m->pc->vga, text, sizeof(text), false, &info);
    if (!info.cols)
        fprintf(f, "(the screen is not in a text mode)\n");
    else
        fputs(text, f);
}

static const char *result_text(enum machine_result r)
{
    switch (r) {
    case MACHINE_HALTED: return "the guest halted";
    case MACHINE_RESET: return "the guest reset the CPU";
    case MACHINE_RESET_LOOP: return "the guest was caught in a reset loop";
    case MACHINE_LIMIT: return "the instruction limit was reached";
    case MACHINE_STOPPED: return "the guest stopped on something bt86 cannot run yet";
    case MACHINE_EXIT: return "the guest wrote the exit port";
    case MACHINE_TEXT_FOUND: return "the expected text appeared on the screen";
    case MACHINE_TIME_LIMIT: return "the virtual time limit was reached";
    case MACHINE_QUIT: return "the window was closed";
    case MACHINE_POWEROFF: return "the guest powered off";
    }
    return "?";
}

static int parse_engine(const char *name, enum machine_engine *out)
{
    if (!strcmp(name, "interp"))
        *out = ENGINE_INTERP;
    else if (!strcmp(name, "translator"))
        *out = ENGINE_TRANSLATOR;
    else if (!strcmp(name, "compare"))
        *out = ENGINE_COMPARE;
    else {
        fprintf(stderr, "bt86: unknown engine '%s' (interp, translator or compare)\n", name);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct machine_config cfg = {.ram_bytes = 128ull << 20, .serial_in_fd = -1,
                                 .engine = ENGINE_TRANSLATOR};
    const char *env_engine = getenv("BT86_ENGINE");
    if (env_engine && *env_engine && parse_engine(env_engine, &cfg.engine))
        return EXIT_USAGE;
    bool verbose = false, serial_given = false, board_given = false, rtc_given = false;
    bool com2_given = false;
    bool print_screen_at_exit = false;
    const char *screenshot = NULL;
    const char *name = NULL;
    int display = -1; /* -1 default, 0 none, 1 sdl */
    int clock = -1;   /* -1 default, else enum machine_clock */
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
            if (parse_engine(o + 9, &cfg.engine))
                return EXIT_USAGE;
            continue;
        }
        if (!strncmp(o, "--clock=", 8)) {
            if (!strcmp(o + 8, "virtual"))
                clock = MACHINE_CLOCK_VIRTUAL;
            else if (!strcmp(o + 8, "realtime"))
                clock = MACHINE_CLOCK_REALTIME;
            else {
                fprintf(stderr, "bt86: --clock: '%s' is neither virtual nor realtime\n", o + 8);
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
        if (!strcmp(o, "--read-only")) {
            cfg.pc.media_read_only = true;
            continue;
        }
        if (!strcmp(o, "--print-screen")) {
            print_screen_at_exit = true;
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
        } else if (!strcmp(o, "-M")) {
            if (strcmp(val, "pc") && strcmp(val, "bare")) {
                fprintf(stderr, "bt86: -M: unknown board '%s' (pc, bare)\n", val);
                return EXIT_USAGE;
            }
            cfg.board = strcmp(val, "pc") ? BOARD_BARE : BOARD_PC;
            board_given = true;
        } else if (!strcmp(o, "-fda")) {
            cfg.pc.fda = val;
        } else if (!strcmp(o, "-hda")) {
            cfg.pc.hda = val;
        } else if (!strcmp(o, "-cdrom")) {
            cfg.pc.cdrom = val;
        } else if (!strcmp(o, "-boot")) {
            if (!strcmp(val, "menu=on"))
                cfg.pc.boot_menu = true;
            else
                cfg.pc.boot_order = strncmp(val, "order=", 6) ? val : val + 6;
        } else if (!strcmp(o, "-rtc")) {
            if (parse_rtc(val, &cfg.pc.rtc_start)) {
                fprintf(stderr, "bt86: -rtc: expected base=utc, base=localtime or "
                        "base=YYYY-MM-DD[THH:MM:SS], not '%s'\n", val);
                return EXIT_USAGE;
            }
            rtc_given = true;
        } else if (!strcmp(o, "--time-limit")) {
            char *end;
            unsigned long long ms = strtoull(val, &end, 10);
            if (*end || !ms || ms > UINT64_MAX / 1000000) {
                fprintf(stderr, "bt86: --time-limit: bad number of milliseconds '%s'\n", val);
                return EXIT_USAGE;
            }
            cfg.time_limit_ns = ms * 1000000ull;
        } else if (!strcmp(o, "--wait-text") || !strcmp(o, "--expect-text") ||
                   !strcmp(o, "--type")) {
            if (cfg.script_len == MACHINE_MAX_SCRIPT) {
                fprintf(stderr, "bt86: at most %d --wait-text/--type/--expect-text steps\n",
                        MACHINE_MAX_SCRIPT);
                return EXIT_USAGE;
            }
            struct script_step *st = &cfg.script[cfg.script_len++];
            st->kind = !strcmp(o, "--type") ? SCRIPT_TYPE
                       : !strcmp(o, "--wait-text") ? SCRIPT_WAIT_TEXT : SCRIPT_EXPECT_TEXT;
            st->text = unescape(val);
        } else if (!strcmp(o, "--screenshot")) {
            screenshot = val;
        } else if (!strcmp(o, "-kernel")) {
            cfg.kernel_path = val;
        } else if (!strcmp(o, "-append")) {
            cfg.append = val;
        } else if (!strcmp(o, "-initrd")) {
            cfg.initrd_path = val;
        } else if (!strcmp(o, "-m")) {
            if (parse_size(val, &cfg.ram_bytes)) {
                fprintf(stderr, "bt86: -m: bad size '%s'\n", val);
                return EXIT_USAGE;
            }
        } else if (!strcmp(o, "-debugcon")) {
            cfg.debug_out = open_chardev(val, "-debugcon");
        } else if (!strcmp(o, "-serial")) {
            if (serial_given) { /* the second one is COM2 (output only so far) */
                if (com2_given) {
                    fprintf(stderr, "bt86: -serial: two serial ports (COM1, COM2) at most\n");
                    return EXIT_USAGE;
                }
                com2_given = true;
                cfg.pc.com2_out = open_chardev(val, "-serial");
                continue;
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
            if (strcmp(val, "none") && strcmp(val, "sdl")) {
                fprintf(stderr, "bt86: -display: unknown display '%s' (sdl, none)\n", val);
                return EXIT_USAGE;
            }
            display = !strcmp(val, "sdl");
        } else if (!strcmp(o, "-name")) {
            name = val;
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
    bool media = cfg.pc.fda || cfg.pc.hda || cfg.pc.cdrom;
    /* Nothing to boot named at all: the default Linux guest, its consoles on stdio. */
    bool guest = !board_given && !media && !cfg.bios_path && !cfg.kernel_path;
    if (guest) {
        if (!default_guest(&cfg))
            return EXIT_ERROR;
        if (!serial_given) {
            cfg.serial_out = stdout;
            cfg.serial_input = true;
            cfg.serial_in_fd = 0;
        }
    }
    bool linux_kernel = cfg.kernel_path && kernel_is_linux(cfg.kernel_path);
    if (!board_given)
        cfg.board = media || linux_kernel || (!cfg.bios_path && !cfg.kernel_path) ? BOARD_PC
                                                                                  : BOARD_BARE;
    if (cfg.board == BOARD_PC) {
        static char bios[4096], rom[4096];
        if (cfg.kernel_path)
            cfg.linuxboot_rom = beside_executable("linuxboot.bin", rom);
        if (!cfg.bios_path && !(cfg.bios_path = beside_executable("seabios/bios.bin", bios))) {
            fprintf(stderr, "bt86: no SeaBIOS image found in roms/seabios next to bt86: give "
                    "one with -bios FILE\n");
            return EXIT_USAGE;
        }
        /* The VGA BIOS sits next to SeaBIOS, as Debian installs them. */
        static char vgabios[4096];
        const char *slash = strrchr(cfg.bios_path, '/');
        int dirlen = slash ? (int)(slash - cfg.bios_path + 1) : 0;
        snprintf(vgabios, sizeof(vgabios), "%.*svgabios-stdvga.bin", dirlen, cfg.bios_path);
        if (access(vgabios, R_OK) == 0)
            cfg.pc.vgabios_path = vgabios;
        else
            fprintf(stderr, "bt86: warning: no %s: the screen stays blank\n", vgabios);
        if (!rtc_given) {
            time_t now = time(NULL);
            gmtime_r(&now, &cfg.pc.rtc_start);
        }
    } else {
        if (media || cfg.script_len || cfg.time_limit_ns || screenshot || print_screen_at_exit ||
            rtc_given || cfg.pc.boot_order || cfg.pc.boot_menu || cfg.initrd_path) {
            fprintf(stderr, "bt86: media, -boot, -rtc, -initrd and the screen options need the "
                    "PC board (-M pc)\n");
            return EXIT_USAGE;
        }
    }
    if (!cfg.bios_path && !cfg.kernel_path) {
        fprintf(stderr, "bt86: nothing to run: give a firmware image with -bios FILE or a "
                "Multiboot kernel with -kernel FILE\n");
        return EXIT_USAGE;
    }
    if (cfg.board == BOARD_BARE && cfg.bios_path && cfg.kernel_path) {
        fprintf(stderr, "bt86: -kernel starts the kernel without firmware; drop -bios (firmware "
                "that loads the kernel itself comes later)\n");
        return EXIT_USAGE;
    }
    if (cfg.append && !cfg.kernel_path) {
        fprintf(stderr, "bt86: -append is only allowed with -kernel\n");
        return EXIT_USAGE;
    }
    if (cfg.initrd_path && !cfg.kernel_path) {
        fprintf(stderr, "bt86: -initrd is only allowed with -kernel\n");
        return EXIT_USAGE;
    }

    if (display == -1) {
        const char *x = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
        /* The bare board has no screen to show. */
        display = cfg.board == BOARD_PC && ((x && *x) || (wl && *wl));
    } else if (display == 1 && cfg.board != BOARD_PC) {
        fprintf(stderr, "bt86: -display sdl: the bare board has no screen; running headless\n");
        display = 0;
    }

    static struct machine m;
    char err[512];
    if (machine_create(&m, &cfg, err, sizeof(err))) {
        fprintf(stderr, "bt86: %s\n", err);
        return EXIT_ERROR;
    }
    struct window *win = NULL;
    if (display == 1) {
        if (!name && cfg.kernel_path) {
            const char *slash = strrchr(cfg.kernel_path, '/');
            name = guest ? "Linux" : slash ? slash + 1 : cfg.kernel_path;
        }
        if (!name)
            name = boot_medium_name(&cfg.pc);
        win = window_open(&m, name, err, sizeof(err));
        if (!win)
            fprintf(stderr, "bt86: no window (%s); running headless\n", err);
    }
    /* A person at the default guest's shell expects its clock to keep time. */
    m.clock = clock >= 0     ? (enum machine_clock)clock
              : win || guest ? MACHINE_CLOCK_REALTIME
                             : MACHINE_CLOCK_VIRTUAL;
    if (cfg.serial_input && cfg.serial_in_fd == 0)
        serial_terminal_raw();
    double t0 = host_seconds();
    enum machine_result r = machine_run(&m);
    double host = host_seconds() - t0;
    if (win) {
        /* The guest ended the run itself: the user still sees how, until closing the window.
         * Runs ended by the user's own limits or scripts just end. */
        const char *state = r == MACHINE_HALTED                                ? "halted"
                            : r == MACHINE_STOPPED                             ? "stopped"
                            : r == MACHINE_RESET || r == MACHINE_RESET_LOOP    ? "reset"
                                                                               : NULL;
        if (state) {
            window_set_state(win, state);
            window_wait_close(win, &m);
        }
        window_close(win, &m);
    }
    int status = EXIT_HALTED;
    switch (r) {
    case MACHINE_HALTED:
    case MACHINE_POWEROFF:
    case MACHINE_QUIT: break;
    case MACHINE_TEXT_FOUND:
        fprintf(stderr, "bt86: '%s' appeared on the screen after %.3f s of virtual time "
                "(%.3f s on the host, %llu instructions)\n",
                m.script[m.script_pos - 1].text, m.text_found_ns / 1e9, host,
                (unsigned long long)m.insns);
        break;
    case MACHINE_TIME_LIMIT:
        status = EXIT_LIMIT;
        fprintf(stderr, "bt86: virtual time limit reached (%.3f s on the host)", host);
        if (m.script_pos < m.script_len)
            fprintf(stderr, " while waiting for '%s' (step %u); the screen:\n",
                    m.script[m.script_pos].text, m.script_pos + 1);
        else
            fprintf(stderr, "\n");
        if (m.script_pos < m.script_len)
            print_screen(&m, stderr);
        break;
    case MACHINE_RESET:
    case MACHINE_RESET_LOOP:
    case MACHINE_STOPPED: status = EXIT_GUEST_RESET; break;
    case MACHINE_LIMIT: status = EXIT_LIMIT; break;
    case MACHINE_EXIT: status = m.exit_status; break;
    }
    if (m.compare) {
        uint64_t compared, skipped;
        translator_compare_counts(m.compare, &compared, &skipped);
        if (translator_compare_diverged(m.compare))
            status = EXIT_DIVERGED;
        if (verbose || translator_compare_diverged(m.compare))
            fprintf(stderr, "bt86: compare: %llu blocks compared, %llu left to the interpreter%s\n",
                    (unsigned long long)compared, (unsigned long long)skipped,
                    translator_compare_diverged(m.compare) ? "; stopped at a divergence" : "");
    }
    if (m.pc && print_screen_at_exit)
        print_screen(&m, stdout);
    if (m.pc && screenshot) {
        int e = vga_screenshot(&m.pc->vga, screenshot, machine_now(&m));
        if (e) {
            fprintf(stderr, "bt86: --screenshot: cannot write '%s': %s\n", screenshot,
                    strerror(-e));
            if (status == EXIT_HALTED)
                status = EXIT_ERROR;
        }
    }
    fflush(stdout);
    /* How far the guest got helps most when it did not finish normally. */
    bool abnormal = r != MACHINE_HALTED && r != MACHINE_EXIT && r != MACHINE_TEXT_FOUND &&
                    r != MACHINE_POWEROFF;
    if (verbose) {
        fprintf(stderr, "bt86: %s (exit status %d) after %llu instructions, %u reset%s", result_text(r),
                status, (unsigned long long)m.insns, m.resets, m.resets == 1 ? "" : "s");
        if (m.pc)
            fprintf(stderr, ", %.3f s virtual, %.3f s host", machine_now(&m) / 1e9, host);
        if (m.testdev.post_written)
            fprintf(stderr, "; last POST code 0x%02x", m.testdev.post);
        fprintf(stderr, "\n");
        if (m.translator) {
            struct translator_stats st;
            translator_get_stats(m.translator, &st);
            fprintf(stderr, "bt86: translator: %llu blocks, %llu guest instructions (%llu inline), "
                    "%.1f host bytes per guest instruction, %llu cache flushes, %llu chained "
                    "exits, %llu failed\n",
                    (unsigned long long)st.blocks, (unsigned long long)st.guest_insns,
                    (unsigned long long)st.inline_insns,
                    st.guest_insns ? (double)st.host_bytes / (double)st.guest_insns : 0.0,
                    (unsigned long long)st.flushes, (unsigned long long)st.chains,
                    (unsigned long long)st.failures);
        }
    } else if (abnormal && m.testdev.post_written) {
        fprintf(stderr, "bt86: last POST code 0x%02x\n", m.testdev.post);
    }
    if (cfg.debug_out && cfg.debug_out != stdout)
        fclose(cfg.debug_out);
    if (cfg.serial_out && cfg.serial_out != stdout && cfg.serial_out != cfg.debug_out)
        fclose(cfg.serial_out);
    if (cfg.pc.com2_out && cfg.pc.com2_out != stdout)
        fclose(cfg.pc.com2_out);
    machine_destroy(&m);
    return status;
}
