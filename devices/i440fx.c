#include "devices/i440fx.h"

#include <stdlib.h>
#include <string.h>

#define CONFADD_ENABLE 0x80000000u
/* Bits 30:24 and 1:0 are reserved and read as zero. */
#define CONFADD_MASK 0x80FFFFFCu

void i440fx_segment(unsigned seg, uint32_t *base, uint32_t *size)
{
    if (seg < 12) {
        *base = I440FX_SHADOW_BASE + seg * 0x4000u;
        *size = 0x4000u;
    } else {
        *base = 0xF0000u;
        *size = 0x10000u;
    }
}

/* RE/WE of a segment as the PAM registers say now. PAM1..PAM6 hold two 16 KiB segments
 * each, the lower address in the low nibble; PAM0's high nibble is the 64 KiB BIOS segment. */
static uint8_t pam_attr(const struct i440fx *h, unsigned seg)
{
    if (seg == 12)
        return (uint8_t)((h->fn.config[I440FX_PAM0] >> 4) & 3);
    uint8_t reg = h->fn.config[I440FX_PAM0 + 1 + seg / 2];
    return (uint8_t)((seg & 1 ? reg >> 4 : reg) & 3);
}

static void map_segment(struct i440fx *h, unsigned seg, uint8_t attr)
{
    uint32_t base, size;
    i440fx_segment(seg, &base, &size);
    uint8_t *ram = h->mem->ram + base;
    uint8_t *rom = h->rom + (base - I440FX_SHADOW_BASE);
    /* Cannot fail: the range is page aligned and both pointers are set. */
    memmap_map_host(h->mem, base, size, (attr & I440FX_PAM_RE) ? ram : rom,
                    (attr & I440FX_PAM_WE) ? ram : NULL);
    h->seg_attr[seg] = attr;
}

/* Remap only what changed, unless `all`: every remap flushes the CPU's TLB. */
static void update_pam(struct i440fx *h, bool all)
{
    for (unsigned seg = 0; seg < I440FX_PAM_SEGMENTS; seg++) {
        uint8_t attr = pam_attr(h, seg);
        if (all || attr != h->seg_attr[seg])
            map_segment(h, seg, attr);
    }
}

/* Once D_LCK is set, D_OPEN is cleared and only D_CLS stays writable, until reset. */
static void update_smram_lock(struct pci_function *f)
{
    if (f->config[I440FX_SMRAM] & I440FX_SMRAM_D_LCK) {
        f->config[I440FX_SMRAM] &= (uint8_t)~I440FX_SMRAM_D_OPEN;
        f->wmask[I440FX_SMRAM] = I440FX_SMRAM_D_CLS;
    } else {
        f->wmask[I440FX_SMRAM] = I440FX_SMRAM_D_OPEN | I440FX_SMRAM_D_CLS | I440FX_SMRAM_D_LCK |
                                 I440FX_SMRAM_G_SMRAME;
    }
}

static void host_config_written(struct pci_function *f, unsigned off, unsigned size)
{
    struct i440fx *h = f->opaque;
    if (off <= I440FX_SMRAM && off + size > I440FX_SMRAM)
        update_smram_lock(f);
    /* SMRAM never becomes visible (no SMM), so only the PAM registers move memory. */
    if (off < I440FX_PAM0 + 7 && off + size > I440FX_PAM0)
        update_pam(h, false);
}

/* The power-on configuration space (82441FX datasheet defaults). */
static void init_config(struct pci_function *f)
{
    pci_function_init(f, 0x8086, 0x1237, 0x02, 0x060000, 0x00);
    pci_set16(f, PCI_COMMAND, 0x0006); /* memory and bus master are hardwired on */
    pci_set16(f, PCI_STATUS, 0x0280);
    f->wmask[PCI_COMMAND] = 0x40;      /* parity error response */
    f->wmask[PCI_COMMAND + 1] = 0x01;  /* SERR# enable */
    f->wmask[PCI_INTERRUPT_LINE] = 0;  /* the bridge has no interrupt */
    pci_set16(f, PCI_SUBSYS_VENDOR, 0x1AF4);
    pci_set16(f, PCI_SUBSYS_VENDOR + 2, 0x1100);

    /* PMCCFG, DETURBO, DBC, AXC, DRAMR, DRAMC, DRAMT: plain storage (no timing is modelled). */
    for (unsigned o = 0x50; o <= 0x58; o++)
        f->wmask[o] = 0xFF;
    f->wmask[I440FX_PAM0] = 0x30; /* PAM0's low nibble is reserved */
    for (unsigned o = I440FX_PAM0 + 1; o <= I440FX_PAM0 + 6; o++)
        f->wmask[o] = 0x33;       /* bits 7,6,3,2 reserved on the 82441FX */
    for (unsigned o = 0x60; o <= 0x67; o++) {
        f->config[o] = 0x01;      /* DRB0-7: one 8 MiB row until the BIOS sizes memory */
        f->wmask[o] = 0xFF;
    }
    f->wmask[0x68] = 0xFF;        /* FDHC */
    f->wmask[0x70] = 0xFF;        /* MTT */
    f->wmask[0x71] = 0xFF;        /* CLT */
    f->config[I440FX_SMRAM] = 0x02; /* C_BASE_SEG fixed at 010b: 0xA0000 */
    update_smram_lock(f);
    f->wmask[0x90] = 0xFF;        /* ERRCMD */
    f->w1c[0x91] = 0xFF;          /* ERRSTS: error bits, write one to clear */
    f->wmask[0x93] = 0x06;        /* TRC: only the reset-type bits are kept */
}

static bool data_target(const struct i440fx *h, uint16_t port, uint8_t *devfn, unsigned *off)
{
    /* Only bus 0 exists; configuration cycles to others find nothing. */
    if (!(h->confadd & CONFADD_ENABLE) || ((h->confadd >> 16) & 0xFF) != 0)
        return false;
    *devfn = (uint8_t)(h->confadd >> 8);
    *off = (h->confadd & 0xFC) + (port & 3u);
    return true;
}

static uint32_t ones(unsigned size) { return size >= 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1; }

static uint32_t host_io_read(void *opaque, uint16_t port, unsigned size)
{
    struct i440fx *h = opaque;
    if (port == I440FX_CONFADD_PORT)
        return size == 4 ? h->confadd : ones(size); /* only dword accesses reach CONFADD */
    /* Bytes of the access beyond 0xCFF belong to the next dword: not ours. */
    unsigned n = 4 - (port & 3u);
    if (n > size)
        n = size;
    uint8_t devfn;
    unsigned off;
    if (!data_target(h, port, &devfn, &off))
        return ones(size);
    uint32_t v = pci_bus_read(h->bus, devfn, off, n);
    return n == size ? v : v | (ones(size) & ~ones(n));
}

static void host_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct i440fx *h = opaque;
    if (port == I440FX_CONFADD_PORT) {
        if (size == 4)
            h->confadd = value & CONFADD_MASK;
        return;
    }
    unsigned n = 4 - (port & 3u);
    if (n > size)
        n = size;
    uint8_t devfn;
    unsigned off;
    if (data_target(h, port, &devfn, &off))
        pci_bus_write(h->bus, devfn, off, value & ones(n), n);
}

static const struct ioport_ops host_io_ops = {host_io_read, host_io_write};

static void host_reset(void *opaque)
{
    struct i440fx *h = opaque;
    init_config(&h->fn);
    h->confadd = 0;
    update_pam(h, true);
}

static void host_save(const void *opaque, struct state_writer *w)
{
    const struct i440fx *h = opaque;
    sw_u32(w, h->confadd);
    sw_bytes(w, h->fn.config, sizeof(h->fn.config));
}

static int host_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct i440fx *h = opaque;
    if (version != 1)
        return -1;
    uint32_t confadd = sr_u32(r);
    uint8_t config[256];
    sr_bytes(r, config, sizeof(config));
    if (r->error || (confadd & ~CONFADD_MASK))
        return -1;
    /* Bits the guest cannot change must be what a fresh bridge has. */
    struct pci_function ref;
    init_config(&ref);
    for (unsigned o = 0; o < 256; o++)
        if ((config[o] ^ ref.config[o]) & ~(ref.wmask[o] | ref.w1c[o]))
            return -1;
    if ((config[I440FX_SMRAM] & I440FX_SMRAM_D_LCK) && (config[I440FX_SMRAM] & I440FX_SMRAM_D_OPEN))
        return -1;
    init_config(&h->fn);
    memcpy(h->fn.config, config, sizeof(config));
    update_smram_lock(&h->fn);
    h->confadd = confadd;
    update_pam(h, true);
    return 0;
}

static const struct device_ops host_device_ops = {
    .name = "i440fx",
    .state_version = 1,
    .reset = host_reset,
    .save = host_save,
    .load = host_load,
};

int i440fx_attach(struct i440fx *h, struct ioport_bus *io, struct pci_bus *bus, struct memmap *mem)
{
    memset(h, 0, sizeof(*h));
    if (!mem->ram || mem->ram_size < 0x100000)
        return -1;
    h->rom = aligned_alloc(PAGE_SIZE, I440FX_SHADOW_SIZE);
    if (!h->rom)
        return -1;
    memset(h->rom, 0xFF, I440FX_SHADOW_SIZE);
    h->dev = (struct device){&host_device_ops, h};
    h->bus = bus;
    h->mem = mem;
    h->fn.config_written = host_config_written;
    h->fn.opaque = h;
    init_config(&h->fn);
    if (pci_bus_add(bus, &h->fn, 0) != 0 ||
        ioport_register(io, I440FX_CONFADD_PORT, 1, &host_io_ops, h) != 0 ||
        ioport_register(io, I440FX_CONFDATA_PORT, 4, &host_io_ops, h) != 0) {
        /* Port registration cannot be undone; a failed attach is fatal for the machine. */
        if (bus->fn[0] == &h->fn)
            bus->fn[0] = NULL;
        free(h->rom);
        h->rom = NULL;
        return -1;
    }
    host_reset(h);
    return 0;
}

void i440fx_destroy(struct i440fx *h)
{
    free(h->rom);
    h->rom = NULL;
}

int i440fx_load_rom(struct i440fx *h, uint32_t base, const void *data, uint32_t len)
{
    if (!h->rom || !data || base < I440FX_SHADOW_BASE ||
        (uint64_t)base + len > I440FX_SHADOW_BASE + I440FX_SHADOW_SIZE)
        return -1;
    memcpy(h->rom + (base - I440FX_SHADOW_BASE), data, len);
    /* Code decoded from the old contents is stale: remapping invalidates it. */
    update_pam(h, true);
    return 0;
}
