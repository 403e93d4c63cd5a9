#include "machine/machine.h"

#include "machine/linuxboot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_BIOS_SIZE (16u << 20)
#define MAX_KERNEL_SIZE (256u << 20)
/* Instructions between polls of host input (the UART); small enough to feel immediate. */
#define POLL_SLICE 100000u

uint8_t *machine_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "'%s' is not a regular file", path);
        fclose(f);
        return NULL;
    }
    if (st.st_size <= 0 || (size_t)st.st_size > max) {
        snprintf(err, errlen, "'%s' has size %lld; expected 1 to %zu bytes", path,
                 (long long)st.st_size, max);
        fclose(f);
        return NULL;
    }
    uint8_t *buf = malloc((size_t)st.st_size);
    if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        snprintf(err, errlen, "cannot read '%s'", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)st.st_size;
    return buf;
}

static int load_bios(struct machine *m, const char *path, char *err, size_t errlen)
{
    size_t len;
    uint8_t *img = machine_read_file(path, MAX_BIOS_SIZE, &len, err, errlen);
    if (!img)
        return -1;
    if (len % 4096) {
        snprintf(err, errlen, "'%s': firmware size %zu is not a multiple of 4 KiB", path, len);
        free(img);
        return -1;
    }
    /* Whole image just below 4 GiB (reset vector at FFFFFFF0); its last 128 KiB (or all of a
     * smaller image) also at the top of the first megabyte, as the chipset aliases it. */
    size_t low = len < 0x20000 ? len : 0x20000;
    int r = memmap_add_rom(&m->mem, (uint32_t)(0x100000000ull - len), img, (uint32_t)len);
    if (r == 0)
        r = memmap_add_rom(&m->mem, (uint32_t)(0x100000 - low), img + len - low, (uint32_t)low);
    free(img);
    if (r) {
        snprintf(err, errlen, "cannot map firmware '%s': %s", path, strerror(-r));
        return -1;
    }
    return 0;
}

int machine_add_device(struct machine *m, struct device *d)
{
    if (m->ndevices == MACHINE_MAX_DEVICES)
        return -1;
    m->devices[m->ndevices++] = d;
    return 0;
}

static void guest_exit(void *opaque, int status)
{
    struct machine *m = opaque;
    m->exit_requested = true;
    m->exit_status = status;
    cpu_request_stop(&m->cpu);
}

static int load_kernel(struct machine *m, const struct machine_config *cfg, char *err,
                       size_t errlen)
{
    size_t cap = cfg->ram_bytes < MAX_KERNEL_SIZE ? (size_t)cfg->ram_bytes : MAX_KERNEL_SIZE;
    m->kernel = machine_read_file(cfg->kernel_path, cap, &m->kernel_len, err, errlen);
    if (!m->kernel)
        return -1;
    char why[400];
    if (multiboot_parse(m->kernel, m->kernel_len, cfg->ram_bytes, &m->mb, why, sizeof(why))) {
        snprintf(err, errlen, "kernel '%s': %s", cfg->kernel_path, why);
        return -1;
    }
    if (m->mb.wants_video)
        fprintf(stderr, "bt86: warning: kernel '%s' asks for a video mode; bt86 has no display "
                "yet and reports none\n", cfg->kernel_path);
    /* As GRUB and QEMU do, the command line starts with the kernel's name. */
    const char *args = cfg->append ? cfg->append : "";
    size_t n = strlen(cfg->kernel_path) + 1 + strlen(args) + 1;
    m->kernel_cmdline = malloc(n);
    if (!m->kernel_cmdline) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(m->kernel_cmdline, n, "%s%s%s", cfg->kernel_path, *args ? " " : "", args);
    return 0;
}

int machine_create(struct machine *m, const struct machine_config *cfg, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    if (cfg->ram_bytes < (1u << 20) || cfg->ram_bytes > (3ull << 30)) {
        snprintf(err, errlen, "RAM size must be between 1 MiB and 3 GiB");
        return -1;
    }
    if (!cfg->bios_path && !cfg->kernel_path) {
        snprintf(err, errlen, "nothing to run: give a firmware image (-bios FILE) or a "
                 "Multiboot kernel (-kernel FILE)");
        return -1;
    }
    if (cfg->board == BOARD_BARE && cfg->bios_path && cfg->kernel_path) {
        snprintf(err, errlen, "-kernel runs without firmware: -bios cannot be combined with it "
                 "yet");
        return -1;
    }
    if (cfg->board == BOARD_PC && !cfg->bios_path) {
        snprintf(err, errlen, "the PC board needs firmware (SeaBIOS): give -bios FILE");
        return -1;
    }
    int r = memmap_init(&m->mem, cfg->ram_bytes);
    if (r) {
        snprintf(err, errlen, "cannot allocate %llu MiB of guest RAM: %s",
                 (unsigned long long)(cfg->ram_bytes >> 20), strerror(-r));
        return -1;
    }
    if (cpu_init(&m->cpu, &m->mem)) {
        snprintf(err, errlen, "out of memory creating the CPU");
        memmap_destroy(&m->mem);
        return -1;
    }
    if (cfg->engine != ENGINE_INTERP) {
        m->translator = translator_create(0);
        if (m->translator && cfg->engine == ENGINE_COMPARE)
            m->compare = translator_compare_create(m->translator, stderr);
        if (!m->translator || (cfg->engine == ENGINE_COMPARE && !m->compare)) {
            snprintf(err, errlen, "cannot create the translator: %s", strerror(errno));
            translator_destroy(m->translator);
            m->translator = NULL;
            cpu_destroy(&m->cpu);
            memmap_destroy(&m->mem);
            return -1;
        }
        if (m->compare)
            translator_compare_attach(m->compare, &m->cpu);
        else
            translator_attach(m->translator, &m->cpu);
    }
    ioport_init(&m->io);
    m->cpu.bus.opaque = &m->io;
    m->cpu.bus.port_in = ioport_read;
    m->cpu.bus.port_out = ioport_write;
    /* The UART's IRQ line stays unwired until there is an interrupt controller. */
    if (debugcon_attach(&m->debugcon_402, &m->io, 0x402, cfg->debug_out) ||
        debugcon_attach(&m->debugcon_e9, &m->io, 0xE9, cfg->debug_out) ||
        uart_attach(&m->com1, &m->io, COM1_BASE, cfg->serial_out,
                    cfg->serial_input ? cfg->serial_in_fd : -1) ||
        testdev_attach(&m->testdev, &m->io, guest_exit, m, cfg->post_log) ||
        machine_add_device(m, &m->debugcon_402.dev) || machine_add_device(m, &m->debugcon_e9.dev) ||
        machine_add_device(m, &m->com1.dev) || machine_add_device(m, &m->testdev.dev)) {
        snprintf(err, errlen, "internal error: device ports or table clash");
        machine_destroy(m);
        return -1;
    }
    if (cfg->board == BOARD_PC) {
        struct pc_config pcfg = cfg->pc;
        pcfg.bios_path = cfg->bios_path;
        if (pc_create(m, &pcfg, err, errlen) ||
            (cfg->kernel_path && linux_load(m, cfg, err, errlen))) {
            machine_destroy(m);
            return -1;
        }
        memcpy(m->script, cfg->script, sizeof(m->script));
        m->script_len = cfg->script_len < MACHINE_MAX_SCRIPT ? cfg->script_len : MACHINE_MAX_SCRIPT;
        m->time_limit_ns = cfg->time_limit_ns;
        m->clock = cfg->clock;
    } else if (cfg->bios_path ? load_bios(m, cfg->bios_path, err, errlen)
                              : load_kernel(m, cfg, err, errlen)) {
        machine_destroy(m);
        return -1;
    }
    m->max_insns = cfg->max_insns;
    m->no_reboot = cfg->no_reboot;
    if (machine_reset(m, err, errlen)) {
        machine_destroy(m);
        return -1;
    }
    return 0;
}

void machine_destroy(struct machine *m)
{
    pc_destroy(m);
    cpu_destroy(&m->cpu);
    translator_compare_destroy(m->compare);
    translator_destroy(m->translator);
    m->compare = NULL;
    m->translator = NULL;
    m->mem.journal = NULL;
    memmap_destroy(&m->mem);
    free(m->kernel);
    free(m->kernel_cmdline);
    m->kernel = NULL;
    m->kernel_cmdline = NULL;
}

int machine_reset(struct machine *m, char *err, size_t errlen)
{
    cpu_reset(&m->cpu);
    for (unsigned i = 0; i < m->ndevices; i++)
        device_reset(m->devices[i]);
    m->reset_requested = false;
    m->cpu.stop_requested = false;
    if (m->pc)
        pc_after_reset(m);
    if (m->kernel) {
        uint32_t info;
        char why[400];
        if (multiboot_load(&m->mem, m->kernel, m->kernel_len, &m->mb, m->kernel_cmdline, &info,
                           why, sizeof(why))) {
            snprintf(err, errlen, "kernel: %s", why);
            return -1;
        }
        multiboot_enter(&m->cpu, m->mb.entry, info);
    }
    return 0;
}

/* A CPU shutdown (triple fault). Returns true if the run goes on after a reset. */
/* Counts one reset for the reset-loop check; true (with *res set) when the run must end. */
static bool reset_loop(struct machine *m, bool quick, const char *what, enum machine_result *res)
{
    m->quick_resets = quick ? m->quick_resets + 1 : 0;
    if (m->quick_resets < RESET_LOOP_MAX)
        return false;
    fprintf(stderr, "bt86: reset loop: the guest %s %u times in a row, each within %llu "
            "instructions of booting; giving up\n", what, m->quick_resets, RESET_LOOP_INSNS);
    *res = MACHINE_RESET_LOOP;
    return true;
}

static bool shutdown_reset(struct machine *m, enum machine_result *res)
{
    uint64_t boot_len = m->cpu.icount; /* cpu_reset zeroes it, so this is this boot's count */
    if (m->no_reboot) {
        fprintf(stderr, "bt86: CPU shutdown after %llu instructions; "
                "-no-reboot: not resetting\n", (unsigned long long)boot_len);
        *res = MACHINE_RESET;
        return false;
    }
    if (reset_loop(m, boot_len < RESET_LOOP_INSNS, "shut the CPU down", res))
        return false;
    m->resets++;
    fprintf(stderr, "bt86: CPU shutdown after %llu instructions: resetting the "
            "machine (reset %u)\n", (unsigned long long)boot_len, m->resets);
    char err[512];
    if (machine_reset(m, err, sizeof(err))) {
        fprintf(stderr, "bt86: reset failed: %s\n", err);
        *res = MACHINE_RESET;
        return false;
    }
    return true;
}

uint64_t machine_now(const struct machine *m)
{
    return m->pc ? vclock_now(&m->pc->clock) : 0;
}

uint64_t machine_host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Realtime: how far ahead of the host virtual time may get before the loop sleeps (fewer,
 * longer sleeps), and how far behind before the lag is forgiven rather than caught up (the
 * host was suspended, or timers are too dense to catch up one deadline per slice). */
#define AHEAD_SLACK_NS 1000000ull
#define CATCH_UP_NS 20000000ull
#define MAX_LAG_NS 1000000000ull

/* The virtual time host time `host` stands for (realtime), forgiving lag beyond MAX_LAG_NS. */
static uint64_t host_virt(struct machine *m, uint64_t host)
{
    uint64_t hv = m->virt_base + (host - m->host_base);
    uint64_t now = m->pc->clock.now;
    if (hv > now + MAX_LAG_NS) {
        m->host_base += hv - (now + MAX_LAG_NS);
        hv = now + MAX_LAG_NS;
    }
    return hv;
}

/* The frontend's tick when it is due. False when it asks to end the run. */
static bool tick(struct machine *m, uint64_t host)
{
    if (!m->tick || host < m->next_tick)
        return true;
    /* From now, not from the missed time: a late tick must not turn into a burst. */
    m->next_tick = host + MACHINE_TICK_NS;
    return m->tick(m->tick_opaque, m);
}

static void sleep_until(uint64_t host_ns)
{
    struct timespec ts = {(time_t)(host_ns / 1000000000ull), (long)(host_ns % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* Realtime: waits, ticking, until host time reaches virtual time `v`, or (idle) until an
 * interrupt is pending, which input delivered by a tick may cause. Returns the virtual time
 * host time has reached (at most v); UINT64_MAX when a tick asked to quit. */
static uint64_t wait_for_host(struct machine *m, uint64_t v, bool idle)
{
    for (;;) {
        uint64_t host = machine_host_ns();
        if (!tick(m, host))
            return UINT64_MAX;
        uint64_t hv = host_virt(m, host);
        if (hv >= v)
            return v;
        if (idle && m->cpu.intr_line && (m->cpu.eflags & FL_IF))
            return hv;
        uint64_t wake = host + (v - hv);
        if (m->tick && m->next_tick < wake)
            wake = m->next_tick;
        sleep_until(wake);
    }
}

#define SCREEN_CHECK_NS 10000000ull /* 10 ms of virtual time between looks at the screen */
#define UART_POLL_NS 100000ull

/* One look at the screen for the test script. Returns true when the run ends here. */
static bool script_check(struct machine *m)
{
    static char text[16384];
    while (m->script_pos < m->script_len) {
        const struct script_step *st = &m->script[m->script_pos];
        if (st->kind == SCRIPT_TYPE) {
            m->typed += ps2_kbd_type(&m->pc->kbd, st->text + m->typed);
            if (st->text[m->typed])
                return false; /* the keyboard buffer is full: more at the next look */
            m->typed = 0;
            m->script_pos++;
            continue;
        }
        struct vga_text_info info;
        vga_read_text(&m->pc->vga, text, sizeof(text), false, &info);
        if (!info.cols || !strstr(text, st->text))
            return false;
        m->script_pos++;
        if (st->kind == SCRIPT_EXPECT_TEXT) {
            m->text_found_ns = vclock_now(&m->pc->clock);
            return true;
        }
        /* Lets a driver outside (a test typing through a window) know where the run is. */
        fprintf(stderr, "bt86: '%s' appeared on the screen after %.3f s of virtual time\n",
                st->text, vclock_now(&m->pc->clock) / 1e9);
    }
    return false;
}

/* Where the next slice must end at the latest: a timer, a look at the screen, the limit. */
static uint64_t next_stop(const struct machine *m)
{
    uint64_t d = vclock_next_deadline(&m->pc->clock);
    if (m->script_pos < m->script_len && m->next_screen_check < d)
        d = m->next_screen_check;
    if (m->time_limit_ns && m->time_limit_ns < d)
        d = m->time_limit_ns;
    return d;
}

/* Moves virtual time forward to t without instructions (idle, or catching up with the host). */
static void skip_to(struct machine *m, uint64_t t)
{
    struct vclock *clk = &m->pc->clock;
    if (t <= clk->now)
        return;
    /* The TSC counts virtual ns too, so it must not lag behind the skip. */
    m->cpu.tsc_offset += (t - clk->now) / PC_NS_PER_INSN;
    vclock_advance(clk, t);
}

/* A reset the chipset or keyboard controller asked for. Returns false if the run ends. */
static bool requested_reset(struct machine *m, enum machine_result *res)
{
    uint64_t boot_len = m->cpu.icount;
    const char *why = m->reset_why ? m->reset_why : "a reset request";
    if (m->no_reboot) {
        fprintf(stderr, "bt86: the guest asked for a reset (%s); -no-reboot: not resetting\n",
                why);
        *res = MACHINE_RESET;
        return false;
    }
    /* A return to real mode through the BIOS (CMOS shutdown code) is no reboot. */
    bool quick = boot_len < RESET_LOOP_INSNS && (m->reset_hard || !pc_reset_is_resume(m));
    if (reset_loop(m, quick, "reset the machine", res))
        return false;
    m->resets++;
    fprintf(stderr, "bt86: %s after %llu instructions: %s (reset %u)\n", why,
            (unsigned long long)boot_len,
            m->reset_hard ? "resetting the machine" : "restarting the CPU (INIT)", m->resets);
    if (!m->reset_hard) { /* INIT: the CPU only */
        m->reset_requested = false;
        pc_cpu_init(m);
        m->cpu.stop_requested = false;
        return true;
    }
    char err[512];
    if (machine_reset(m, err, sizeof(err))) {
        fprintf(stderr, "bt86: reset failed: %s\n", err);
        *res = MACHINE_RESET;
        return false;
    }
    return true;
}

/* The PC: slices end at the next timer deadline, 1 instruction = PC_NS_PER_INSN of virtual
 * time, and an idle CPU (HLT, IF set) skips straight to the next deadline. Deterministic with
 * the virtual clock; the realtime clock also holds virtual time back to host time, sleeping
 * where the virtual clock would skip. */
static enum machine_result pc_run(struct machine *m)
{
    struct vclock *clk = &m->pc->clock;
    enum machine_result res;
    uint64_t next_uart = 0;
    bool realtime = m->clock == MACHINE_CLOCK_REALTIME;
    m->host_base = machine_host_ns();
    m->virt_base = clk->now;
    m->next_tick = m->host_base;
    for (;;) {
        vclock_advance(clk, clk->now); /* timers armed in the past fire now */
        uint64_t now = clk->now;
        if (m->max_insns && m->insns >= m->max_insns)
            return MACHINE_LIMIT;
        if (m->time_limit_ns && now >= m->time_limit_ns)
            return MACHINE_TIME_LIMIT;
        uint64_t stop_at = vclock_next_deadline(clk);
        if (m->script_pos < m->script_len && m->next_screen_check < stop_at)
            stop_at = m->next_screen_check;
        if (m->time_limit_ns && m->time_limit_ns < stop_at)
            stop_at = m->time_limit_ns;
        uint64_t slice = POLL_SLICE;
        if (stop_at > now && (stop_at - now) / PC_NS_PER_INSN < slice)
            slice = (stop_at - now) / PC_NS_PER_INSN;
        if (slice == 0)
            slice = 1;
        if (m->max_insns && m->max_insns - m->insns < slice)
            slice = m->max_insns - m->insns;
        uint64_t before = m->cpu.icount;
        enum cpu_exit why = cpu_run(&m->cpu, slice);
        uint64_t ran = m->cpu.icount - before;
        m->insns += ran;
        vclock_advance(clk, now + ran * PC_NS_PER_INSN);
        if (clk->now >= next_uart) {
            uart_poll(&m->com1);
            uart_poll(&m->pc->com2);
            next_uart = clk->now + UART_POLL_NS;
        }
        if (m->poweroff_requested)
            return MACHINE_POWEROFF;
        if (m->reset_requested && why != CPU_EXIT_SHUTDOWN) {
            if (!requested_reset(m, &res))
                return res;
            continue;
        }
        switch (why) {
        case CPU_EXIT_HLT: {
            if (!(m->cpu.eflags & FL_IF))
                return MACHINE_HALTED;
            /* An interrupt raised as the slice ended (its timer was due with the HLT) wakes
             * the CPU now; no time may be skipped and no halt declared. */
            if (m->cpu.intr_line || m->cpu.nmi_pending)
                break;
            uint64_t d = next_stop(m);
            if (d == UINT64_MAX)
                return MACHINE_HALTED; /* no timer will ever wake it */
            if (realtime) {
                d = wait_for_host(m, d, true);
                if (d == UINT64_MAX)
                    return MACHINE_QUIT;
            }
            skip_to(m, d);
            break;
        }
        case CPU_EXIT_SHUTDOWN:
            if (!shutdown_reset(m, &res))
                return res;
            break;
        case CPU_EXIT_STOP:
            if (m->exit_requested)
                return MACHINE_EXIT;
            return MACHINE_STOPPED;
        case CPU_EXIT_EXCEPTION: return MACHINE_STOPPED;
        case CPU_EXIT_LIMIT: break;
        }
        if (realtime) {
            uint64_t host = machine_host_ns();
            uint64_t hv = host_virt(m, host);
            if (clk->now > hv + AHEAD_SLACK_NS) {
                if (wait_for_host(m, clk->now, false) == UINT64_MAX)
                    return MACHINE_QUIT;
            } else {
                /* Behind (the CPU is slower than 1 instruction a ns): catch up. A small lag
                 * only to the next deadline, so timers fire in order with the guest running
                 * in between; a lag beyond CATCH_UP_NS all at once, firing the timers due on
                 * the way (a periodic one loses ticks, as on a loaded host) — else a guest
                 * re-arming short one-shot timers keeps it behind for ever and its clock runs
                 * slow. The guest sees a slow CPU, not a slow clock. */
                uint64_t d = next_stop(m);
                skip_to(m, hv < d || hv - clk->now > CATCH_UP_NS ? hv : d);
                if (!tick(m, host))
                    return MACHINE_QUIT;
            }
        } else if (m->tick && !tick(m, machine_host_ns())) {
            return MACHINE_QUIT;
        }
        if (m->script_pos < m->script_len && clk->now >= m->next_screen_check) {
            m->next_screen_check = clk->now + SCREEN_CHECK_NS;
            if (script_check(m))
                return MACHINE_TEXT_FOUND;
        }
    }
}

enum machine_result machine_run(struct machine *m)
{
    enum machine_result res;
    if (m->pc)
        return pc_run(m);
    for (;;) {
        uint64_t slice = POLL_SLICE;
        if (m->max_insns) {
            if (m->insns >= m->max_insns)
                return MACHINE_LIMIT;
            if (m->max_insns - m->insns < slice)
                slice = m->max_insns - m->insns;
        }
        uint64_t before = m->cpu.icount;
        enum cpu_exit why = cpu_run(&m->cpu, slice);
        m->insns += m->cpu.icount - before;
        uart_poll(&m->com1);
        switch (why) {
        case CPU_EXIT_HLT:
            /* No interrupt source can wake a CPU halted with IF clear. */
            if (!(m->cpu.eflags & FL_IF))
                return MACHINE_HALTED;
            if (!m->cpu.intr_line)
                return MACHINE_HALTED; /* nothing raises interrupts yet (no PIC) */
            break;
        case CPU_EXIT_SHUTDOWN:
            if (!shutdown_reset(m, &res))
                return res;
            break;
        case CPU_EXIT_STOP:
            return m->exit_requested ? MACHINE_EXIT : MACHINE_STOPPED;
        case CPU_EXIT_EXCEPTION: return MACHINE_STOPPED;
        case CPU_EXIT_LIMIT: break;
        }
    }
}
