#include "machine/machine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_BIOS_SIZE (16u << 20)

/* Reads a whole file of at most `max` bytes. Returns NULL with a message in err. */
static uint8_t *read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
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
    uint8_t *img = read_file(path, MAX_BIOS_SIZE, &len, err, errlen);
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

int machine_create(struct machine *m, const struct machine_config *cfg, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    if (cfg->ram_bytes < (1u << 20) || cfg->ram_bytes > (3ull << 30)) {
        snprintf(err, errlen, "RAM size must be between 1 MiB and 3 GiB");
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
    ioport_init(&m->io);
    m->cpu.bus.opaque = &m->io;
    m->cpu.bus.port_in = ioport_read;
    m->cpu.bus.port_out = ioport_write;
    debugcon_attach(&m->debugcon_402, &m->io, 0x402, cfg->debug_out);
    debugcon_attach(&m->debugcon_e9, &m->io, 0xE9, cfg->debug_out);
    if (!cfg->bios_path) {
        snprintf(err, errlen, "no firmware given (-bios FILE)");
        machine_destroy(m);
        return -1;
    }
    if (load_bios(m, cfg->bios_path, err, errlen)) {
        machine_destroy(m);
        return -1;
    }
    m->max_insns = cfg->max_insns;
    cpu_reset(&m->cpu);
    return 0;
}

void machine_destroy(struct machine *m)
{
    cpu_destroy(&m->cpu);
    memmap_destroy(&m->mem);
}

enum machine_result machine_run(struct machine *m)
{
    uint64_t budget = m->max_insns ? m->max_insns : UINT64_MAX;
    for (;;) {
        uint64_t slice = budget < 10000000 ? budget : 10000000;
        enum cpu_exit why = cpu_run(&m->cpu, slice);
        budget -= m->max_insns ? slice : 0;
        switch (why) {
        case CPU_EXIT_HLT:
            /* No interrupt source can wake a CPU halted with IF clear. */
            if (!(m->cpu.eflags & FL_IF))
                return MACHINE_HALTED;
            if (!m->cpu.intr_line)
                return MACHINE_HALTED; /* no devices raise interrupts yet */
            break;
        case CPU_EXIT_SHUTDOWN: return MACHINE_RESET;
        case CPU_EXIT_STOP: return MACHINE_STOPPED;
        case CPU_EXIT_EXCEPTION: return MACHINE_STOPPED;
        case CPU_EXIT_LIMIT:
            if (m->max_insns && budget == 0)
                return MACHINE_LIMIT;
            break;
        }
    }
}
