/* Unit tests of the ACPI tables (machine/acpi.c) and the AML emitter (machine/aml.c).
 *
 * The loader script is run here as SeaBIOS's romfile_loader.c runs it (ALLOCATE, ADD_POINTER,
 * ADD_CHECKSUM on 128-byte commands), at made-up load addresses, and the relocated tables are
 * then checked as an OS reads them: RSDP -> RSDT -> FADT -> FACS/DSDT, MADT. Expected values
 * come from the ACPI 6.4 specification and the PIIX4 datasheet.
 *
 * With --iasl DIR the tables are written to DIR and ACPICA's iasl disassembles them and
 * compiles the DSDT back with no error or warning (exit 77, skipped, when iasl is not
 * installed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "devices/acpi_pm.h"
#include "machine/acpi.h"
#include "machine/aml.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* ---- a model of the firmware side of the loader ---- */

#define HIGH_BASE 0x07F00000u /* where "high" allocations land in this model */
#define FSEG_BASE 0x000F5A30u

struct loaded {
    const char *name;
    uint8_t *data; /* a copy, patched */
    uint32_t len, addr;
};

struct guest {
    struct loaded f[4];
    unsigned n;
    unsigned unknown_cmds;
};

static struct loaded *find(struct guest *g, const uint8_t *name)
{
    assert_int_equal(name[ACPI_LOADER_FILESZ - 1], 0);
    for (unsigned i = 0; i < g->n; i++)
        if (!strcmp(g->f[i].name, (const char *)name))
            return &g->f[i];
    fail_msg("loader names a file not allocated before: %s", name);
    return NULL;
}

static void run_loader(const struct acpi_blobs *b, struct guest *g)
{
    memset(g, 0, sizeof(*g));
    assert_int_equal(b->loader_len % ACPI_LOADER_ENTRY_SIZE, 0);
    uint32_t high = HIGH_BASE;
    for (uint32_t off = 0; off < b->loader_len; off += ACPI_LOADER_ENTRY_SIZE) {
        const uint8_t *e = b->loader + off;
        switch (rd32(e)) {
        case ACPI_LOADER_ALLOCATE: {
            const char *name = (const char *)e + 4;
            uint32_t align = rd32(e + 60);
            uint8_t zone = e[64];
            assert_int_equal(align & (align - 1), 0);
            assert_true(g->n < 4);
            struct loaded *l = &g->f[g->n++];
            if (!strcmp(name, ACPI_FILE_TABLES)) {
                l->name = ACPI_FILE_TABLES;
                l->data = malloc(b->tables_len);
                memcpy(l->data, b->tables, b->tables_len);
                l->len = b->tables_len;
            } else if (!strcmp(name, ACPI_FILE_RSDP)) {
                l->name = ACPI_FILE_RSDP;
                l->data = malloc(b->rsdp_len);
                memcpy(l->data, b->rsdp, b->rsdp_len);
                l->len = b->rsdp_len;
            } else {
                fail_msg("ALLOCATE of an unknown file %s", name);
            }
            if (zone == ACPI_LOADER_ZONE_FSEG) {
                l->addr = FSEG_BASE;
                assert_true(l->addr + l->len <= 0x100000);
            } else {
                assert_int_equal(zone, ACPI_LOADER_ZONE_HIGH);
                high = (high + align - 1) & ~(align - 1);
                l->addr = high;
                high += l->len;
            }
            assert_int_equal(l->addr % align, 0);
            break;
        }
        case ACPI_LOADER_ADD_POINTER: {
            struct loaded *dst = find(g, e + 4), *src = find(g, e + 60);
            uint32_t at = rd32(e + 116);
            uint8_t size = e[120];
            assert_true(size == 1 || size == 2 || size == 4 || size == 8);
            assert_true(at + size <= dst->len);
            uint64_t v = 0;
            memcpy(&v, dst->data + at, size);
            v += src->addr;
            memcpy(dst->data + at, &v, size);
            break;
        }
        case ACPI_LOADER_ADD_CHECKSUM: {
            struct loaded *f = find(g, e + 4);
            uint32_t at = rd32(e + 60), start = rd32(e + 64), len = rd32(e + 68);
            assert_true(at < f->len && start + len <= f->len && start <= at && at < start + len);
            f->data[at] = (uint8_t)(f->data[at] - acpi_checksum(f->data + start, len));
            break;
        }
        default: g->unknown_cmds++;
        }
    }
}

static void free_guest(struct guest *g)
{
    for (unsigned i = 0; i < g->n; i++)
        free(g->f[i].data);
}

/* The table at guest address `addr`, which must lie in the loaded tables. */
static const uint8_t *at_addr(struct guest *g, uint32_t addr, const char *sig)
{
    for (unsigned i = 0; i < g->n; i++) {
        struct loaded *l = &g->f[i];
        if (addr >= l->addr && addr < l->addr + l->len) {
            const uint8_t *t = l->data + (addr - l->addr);
            assert_memory_equal(t, sig, 4);
            if (strcmp(sig, "FACS")) {
                uint32_t len = rd32(t + 4);
                assert_true(addr - l->addr + len <= l->len);
                assert_int_equal(acpi_checksum(t, len), 0);
            }
            return t;
        }
    }
    fail_msg("pointer 0x%x to %s points at no loaded file", addr, sig);
    return NULL;
}

static struct acpi_config cfg_pc(bool apic)
{
    struct acpi_config c;
    acpi_default_config(&c, 128u << 20);
    c.apic = apic;
    c.ioapic_id = 1;
    return c;
}

/* ---- the tables ---- */

static void chain_from_rsdp(void **state)
{
    (void)state;
    for (int apic = 0; apic < 2; apic++) {
        struct acpi_config c = cfg_pc(apic);
        struct acpi_blobs b;
        assert_int_equal(acpi_build(&c, &b), 0);
        struct guest g;
        run_loader(&b, &g);
        assert_int_equal(g.n, 2);
        assert_int_equal(g.unknown_cmds, 0);

        struct loaded *rl = &g.f[1];
        assert_string_equal(rl->name, ACPI_FILE_RSDP);
        const uint8_t *rsdp = rl->data;
        assert_int_equal(rl->len, 20);
        assert_memory_equal(rsdp, "RSD PTR ", 8);
        assert_int_equal(acpi_checksum(rsdp, 20), 0);
        assert_int_equal(rsdp[15], 0);
        assert_int_equal(rl->addr % 16, 0);

        const uint8_t *rsdt = at_addr(&g, rd32(rsdp + 16), "RSDT");
        uint32_t n = (rd32(rsdt + 4) - 36) / 4;
        assert_int_equal(n, apic ? 2 : 1);
        const uint8_t *fadt = at_addr(&g, rd32(rsdt + 36), "FACP");
        if (apic)
            at_addr(&g, rd32(rsdt + 40), "APIC");
        assert_int_equal(rd32(fadt + 4), 244);
        assert_int_equal(fadt[8], 3);
        uint32_t facs_addr = rd32(fadt + 36);
        assert_int_equal(facs_addr % 64, 0);
        const uint8_t *facs = at_addr(&g, facs_addr, "FACS");
        assert_int_equal(rd32(facs + 4), 64);
        const uint8_t *dsdt = at_addr(&g, rd32(fadt + 40), "DSDT");
        assert_true(rd32(dsdt + 4) > 36);
        assert_memory_equal(dsdt + 10, "BT86  ", 6);
        free_guest(&g);
        acpi_blobs_free(&b);
    }
}

/* Every table is also valid where it lies unrelocated, so dumps can be checked directly. */
static void unrelocated_checksums(void **state)
{
    (void)state;
    struct acpi_config c = cfg_pc(true);
    struct acpi_blobs b;
    assert_int_equal(acpi_build(&c, &b), 0);
    uint32_t offs[] = {b.dsdt_off, b.fadt_off, b.madt_off, b.rsdt_off};
    for (unsigned i = 0; i < 4; i++) {
        const uint8_t *t = b.tables + offs[i];
        assert_true(offs[i] + rd32(t + 4) <= b.tables_len);
        assert_int_equal(acpi_checksum(t, rd32(t + 4)), 0);
    }
    assert_int_equal(acpi_checksum(b.rsdp, 20), 0);
    assert_int_equal(b.facs_off, 0);
    acpi_blobs_free(&b);
}

static void fadt_fields(void **state)
{
    (void)state;
    struct acpi_config c = cfg_pc(false);
    struct acpi_blobs b;
    assert_int_equal(acpi_build(&c, &b), 0);
    const uint8_t *f = b.tables + b.fadt_off;
    assert_int_equal(rd16(f + 46), 9);           /* SCI_INT */
    assert_int_equal(rd32(f + 48), 0xB2);        /* SMI_CMD */
    assert_int_equal(f[52], 0xF1);
    assert_int_equal(f[53], 0xF0);
    assert_int_equal(rd32(f + 56), 0x600);       /* PM1a_EVT_BLK */
    assert_int_equal(rd32(f + 60), 0);           /* no PM1b */
    assert_int_equal(rd32(f + 64), 0x604);       /* PM1a_CNT_BLK */
    assert_int_equal(rd32(f + 76), 0x608);       /* PM_TMR_BLK */
    assert_int_equal(rd32(f + 80), 0x60C);       /* GPE0_BLK */
    assert_int_equal(f[88], 4);
    assert_int_equal(f[89], 2);
    assert_int_equal(f[91], 4);
    assert_int_equal(f[92], 4);
    assert_true(rd16(f + 96) > 100);             /* no C2 */
    assert_true(rd16(f + 98) > 1000);            /* no C3 */
    assert_int_equal(f[108], 0x32);              /* century */
    assert_int_equal(rd16(f + 109), 0x0003);     /* legacy devices, 8042 */
    uint32_t flags = rd32(f + 112);
    assert_true(flags & (1u << 10));             /* RESET_REG_SUP */
    assert_false(flags & (1u << 8));             /* 24-bit timer, as the PIIX4 */
    assert_false(flags & (1u << 4));             /* the power button is fixed hardware */
    assert_int_equal(f[116], 1);                 /* reset register in I/O space */
    assert_int_equal(f[117], 8);
    assert_int_equal(rd64(f + 120), 0xCF9);
    assert_int_equal(f[128], 0x06);
    /* The extended blocks agree with the 32-bit ones, widths with lengths. */
    assert_int_equal(rd64(f + 148 + 4), 0x600);
    assert_int_equal(f[148 + 1], 32);
    assert_int_equal(rd64(f + 172 + 4), 0x604);
    assert_int_equal(f[172 + 1], 16);
    assert_int_equal(rd64(f + 208 + 4), 0x608);
    assert_int_equal(f[208 + 1], 32);
    assert_int_equal(rd64(f + 220 + 4), 0x60C);
    assert_int_equal(f[220 + 1], 32);
    assert_int_equal(rd64(f + 132), 0);          /* X_FIRMWARE_CTRL, X_DSDT: unused */
    assert_int_equal(rd64(f + 140), 0);
    acpi_blobs_free(&b);
}

static void madt_entries(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        struct acpi_config c = cfg_pc(true);
        c.apic_pci = mode ? ACPI_APIC_PCI_GSI16 : ACPI_APIC_PCI_VIA_ISA;
        struct acpi_blobs b;
        assert_int_equal(acpi_build(&c, &b), 0);
        const uint8_t *m = b.tables + b.madt_off;
        uint32_t len = rd32(m + 4);
        assert_int_equal(rd32(m + 36), 0xFEE00000u);
        assert_int_equal(rd32(m + 40) & 1, 1); /* PCAT_COMPAT */
        unsigned lapics = 0, ioapics = 0, nmis = 0;
        uint16_t iso_flags[16];
        int iso_gsi[16];
        for (int i = 0; i < 16; i++)
            iso_gsi[i] = -1;
        for (uint32_t o = 44; o < len;) {
            const uint8_t *e = m + o;
            assert_true(e[1] >= 2 && o + e[1] <= len);
            switch (e[0]) {
            case 0:
                assert_int_equal(e[1], 8);
                assert_int_equal(e[3], 0);
                assert_int_equal(rd32(e + 4), 1);
                lapics++;
                break;
            case 1:
                assert_int_equal(e[1], 12);
                assert_int_equal(e[2], 1);
                assert_int_equal(rd32(e + 4), 0xFEC00000u);
                assert_int_equal(rd32(e + 8), 0);
                ioapics++;
                break;
            case 2:
                assert_int_equal(e[1], 10);
                assert_true(e[3] < 16);
                assert_int_equal(iso_gsi[e[3]], -1); /* one override per IRQ */
                iso_gsi[e[3]] = (int)rd32(e + 4);
                iso_flags[e[3]] = rd16(e + 8);
                break;
            case 4:
                assert_int_equal(e[1], 6);
                assert_int_equal(e[5], 1);
                nmis++;
                break;
            default: fail_msg("unexpected MADT entry type %u", e[0]);
            }
            o += e[1];
        }
        assert_int_equal(lapics, 1);
        assert_int_equal(ioapics, 1);
        assert_int_equal(nmis, 1);
        assert_int_equal(iso_gsi[0], 2);
        assert_int_equal(iso_flags[0], 0);
        assert_int_equal(iso_gsi[9], 9);
        assert_int_equal(iso_flags[9], 0x000D); /* level, active high */
        for (int irq = 10; irq <= 11; irq++) {
            if (mode == 0) {
                assert_int_equal(iso_gsi[irq], irq);
                assert_int_equal(iso_flags[irq], 0x000D);
            } else {
                assert_int_equal(iso_gsi[irq], -1);
            }
        }
        acpi_blobs_free(&b);
    }
}

/* ---- the DSDT's structure ---- */

/* Decodes a PkgLength at p; returns the value and sets *n to its size. */
static uint32_t pkglen(const uint8_t *p, unsigned *n)
{
    unsigned follow = p[0] >> 6;
    *n = 1 + follow;
    if (!follow)
        return p[0] & 0x3F;
    uint32_t v = p[0] & 0x0F;
    for (unsigned i = 0; i < follow; i++)
        v |= (uint32_t)p[1 + i] << (4 + 8 * i);
    return v;
}

static void dsdt_s5_and_layout(void **state)
{
    (void)state;
    struct acpi_config c = cfg_pc(false);
    struct acpi_blobs b;
    assert_int_equal(acpi_build(&c, &b), 0);
    const uint8_t *d = b.tables + b.dsdt_off;
    uint32_t len = rd32(d + 4);
    const uint8_t *p = d + 36, *end = d + len;
    /* Name(\_S5_, Package(4) { Zero, Zero, Zero, Zero }) */
    static const uint8_t s5[] = {0x08, 0x5C, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0};
    assert_memory_equal(p, s5, sizeof(s5));
    p += sizeof(s5);
    /* Name(PICF, Zero) */
    static const uint8_t picf[] = {0x08, 'P', 'I', 'C', 'F', 0x00};
    assert_memory_equal(p, picf, sizeof(picf));
    p += sizeof(picf);
    /* Method(\_PIC, 1) { Store(Arg0, \PICF) } */
    static const uint8_t pic[] = {0x14, 0x0E, 0x5C, '_', 'P', 'I', 'C', 0x01,
                                  0x70, 0x68, 0x5C, 'P', 'I', 'C', 'F'};
    assert_memory_equal(p, pic, sizeof(pic));
    p += sizeof(pic);
    /* Scope(\_SB_) { ... } runs exactly to the end of the table. */
    assert_int_equal(p[0], 0x10);
    unsigned n;
    uint32_t l = pkglen(p + 1, &n);
    assert_ptr_equal(p + 1 + l, end);
    assert_memory_equal(p + 1 + n, "\\_SB_", 5);
    acpi_blobs_free(&b);
}

/* The DSDT names what Linux looks for, and each link reads its PIIX3 route register. */
static void dsdt_names(void **state)
{
    (void)state;
    struct acpi_config c = cfg_pc(false);
    struct acpi_blobs b;
    assert_int_equal(acpi_build(&c, &b), 0);
    const uint8_t *d = b.tables + b.dsdt_off;
    size_t len = rd32(d + 4);
    const char *want[] = {"PCI0", "_PRT", "LNKA", "LNKB", "LNKC", "LNKD", "_PRS", "_SRS",
                          "_DIS", "_CRS", "_STA", "PRQA", "PRQD", "KBD_", "MOU_", "COM1",
                          "RTC_", "FDC0", "CPU0", "ISA_"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_non_null(memmem(d, len, want[i], 4));
    /* _HID EISAID("PNP0A03") as a DWord constant */
    static const uint8_t hid[] = {0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x03};
    assert_non_null(memmem(d, len, hid, sizeof(hid)));
    /* OperationRegion(PIRQ, PCI_Config, 0x60, 0x04) */
    static const uint8_t reg[] = {0x5B, 0x80, 'P', 'I', 'R', 'Q', 0x02, 0x0A, 0x60, 0x0A, 0x04};
    assert_non_null(memmem(d, len, reg, sizeof(reg)));
    acpi_blobs_free(&b);
}

/* ---- the emitter ---- */

static void aml_encodings(void **state)
{
    (void)state;
    uint8_t pl[4];
    assert_int_equal(aml_pkglength(0, pl), 1);
    assert_int_equal(pl[0], 1);
    assert_int_equal(aml_pkglength(62, pl), 1);
    assert_int_equal(pl[0], 63);
    assert_int_equal(aml_pkglength(63, pl), 2); /* 65 in two bytes */
    assert_int_equal(pl[0], 0x40 | 1);
    assert_int_equal(pl[1], 4);
    assert_int_equal(aml_pkglength(0xFFD, pl), 2); /* 0xFFF: the largest two-byte length */
    assert_int_equal(aml_pkglength(0xFFE, pl), 3);
    assert_int_equal(pl[0], 0x80 | 1);
    assert_int_equal(pl[1], 0x00);
    assert_int_equal(pl[2], 0x01);

    struct aml a;
    aml_init(&a);
    aml_name(&a, "\\_SB.PCI0.ISA.PRQA");
    static const uint8_t multi[] = {0x5C, 0x2F, 4, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
                                    'I', 'S', 'A', '_', 'P', 'R', 'Q', 'A'};
    assert_int_equal(a.len, sizeof(multi));
    assert_memory_equal(a.buf, multi, sizeof(multi));
    aml_free(&a);

    aml_init(&a);
    aml_name(&a, "^^AB.CD");
    static const uint8_t dual[] = {0x5E, 0x5E, 0x2E, 'A', 'B', '_', '_', 'C', 'D', '_', '_'};
    assert_memory_equal(a.buf, dual, sizeof(dual));
    aml_int(&a, 0);
    aml_int(&a, 1);
    aml_int(&a, 0x80);
    aml_int(&a, 0x1234);
    aml_int(&a, 0xFEBFFFFF);
    static const uint8_t ints[] = {0x00, 0x01, 0x0A, 0x80, 0x0B, 0x34, 0x12,
                                   0x0C, 0xFF, 0xFF, 0xBF, 0xFE};
    assert_memory_equal(a.buf + sizeof(dual), ints, sizeof(ints));
    assert_false(a.error);
    aml_free(&a);

    /* A body longer than one PkgLength byte gets a two-byte one, written at the close. */
    aml_init(&a);
    aml_scope_begin(&a, "\\_SB");
    uint8_t filler[100];
    memset(filler, 0xA3, sizeof(filler)); /* NoopOp */
    aml_bytes(&a, filler, sizeof(filler));
    aml_end(&a);
    assert_int_equal(a.len, 1 + 2 + 5 + 100);
    unsigned n;
    assert_int_equal(pkglen(a.buf + 1, &n), 2 + 5 + 100);
    assert_int_equal(n, 2);
    assert_int_equal(a.depth, 0);
    aml_free(&a);

    /* Bad names and unbalanced ends are reported, not emitted. */
    const char *bad[] = {"TOOLONG", "1ABC", "a", "AB..CD", "AB.", "A-B"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        aml_init(&a);
        aml_name(&a, bad[i]);
        assert_true(a.error);
        aml_free(&a);
    }
    aml_init(&a);
    aml_end(&a);
    assert_true(a.error);
    aml_free(&a);
    aml_init(&a);
    aml_eisaid(&a, "PNP0C0F");
    static const uint8_t link[] = {0x0C, 0x41, 0xD0, 0x0C, 0x0F};
    assert_memory_equal(a.buf, link, sizeof(link));
    aml_eisaid(&a, "pnp0c0f");
    assert_true(a.error);
    aml_free(&a);
}

static void fw_cfg_files(void **state)
{
    (void)state;
    struct fw_cfg *fw = calloc(1, sizeof(*fw));
    struct ioport_bus *io = calloc(1, sizeof(*io));
    struct memmap *mem = calloc(1, sizeof(*mem));
    assert_int_equal(memmap_init(mem, 1u << 20), 0);
    ioport_init(io);
    assert_int_equal(fw_cfg_attach(fw, io, mem, true), 0);
    struct acpi_config c = cfg_pc(true);
    assert_int_equal(acpi_install(fw, &c), 0);
    struct acpi_blobs b;
    assert_int_equal(acpi_build(&c, &b), 0);
    const struct fw_cfg_item *it = fw_cfg_find_file(fw, ACPI_FILE_LOADER);
    assert_non_null(it);
    assert_int_equal(it->len, b.loader_len);
    assert_memory_equal(it->data, b.loader, b.loader_len);
    it = fw_cfg_find_file(fw, ACPI_FILE_TABLES);
    assert_non_null(it);
    assert_int_equal(it->len, b.tables_len);
    it = fw_cfg_find_file(fw, ACPI_FILE_RSDP);
    assert_non_null(it);
    assert_int_equal(it->len, 20);
    acpi_blobs_free(&b);
    fw_cfg_destroy(fw);
    memmap_destroy(mem);
    free(mem);
    free(io);
    free(fw);
}

/* ---- iasl ---- */

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Disassembles every table and compiles the DSDT back: any error or warning fails. */
static int iasl_check(const char *dir)
{
    if (system("command -v iasl >/dev/null 2>&1") != 0) {
        fprintf(stderr, "iasl (Debian package acpica-tools) is not installed: skipped\n");
        return 77;
    }
    mkdir(dir, 0755);
    int bad = 0;
    for (int apic = 0; apic < 2; apic++) {
        struct acpi_config c = cfg_pc(apic);
        c.apic_pci = ACPI_APIC_PCI_GSI16; /* the larger DSDT, with _PRT a method */
        struct acpi_blobs b;
        if (acpi_build(&c, &b))
            return 1;
        const uint8_t *t = b.tables;
        struct {
            const char *name;
            uint32_t off;
        } tabs[] = {{"dsdt.dat", b.dsdt_off}, {"facp.dat", b.fadt_off},
                    {"apic.dat", b.madt_off}, {"rsdt.dat", b.rsdt_off}};
        for (size_t i = 0; i < 4; i++)
            if (tabs[i].off && write_file(dir, tabs[i].name, t + tabs[i].off,
                                          rd32(t + tabs[i].off + 4)))
                return 1;
        if (write_file(dir, "facs.dat", t + b.facs_off, 64) ||
            write_file(dir, "rsdp.dat", b.rsdp, b.rsdp_len))
            return 1;
        acpi_blobs_free(&b);
        char cmd[8192];
        /* -d: disassemble; data tables are checked field by field, the DSDT as AML. Then the
         * DSDT source must compile without errors or warnings. */
        snprintf(cmd, sizeof(cmd),
                 "cd '%s' && rm -f *.dsl *.aml && "
                 "for t in dsdt facp %s rsdt facs; do "
                 "  iasl -d $t.dat > $t.log 2>&1 || { cat $t.log; exit 1; }; "
                 "  if grep -Ei 'error|warning|invalid|incorrect' $t.dsl; then exit 1; fi; "
                 "done; "
                 "grep -qF '_S5, Package (0x04)' dsdt.dsl || { echo no _S5; exit 1; }; "
                 "cp dsdt.dsl re.dsl && iasl re.dsl > re.log 2>&1; s=$?; cat re.log; "
                 "[ $s -eq 0 ] && grep -q ' 0 Errors, 0 Warnings' re.log",
                 dir, apic ? "apic" : "");
        if (system(cmd) != 0) {
            fprintf(stderr, "iasl check failed (apic=%d); files in %s\n", apic, dir);
            bad = 1;
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--iasl"))
        return iasl_check(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chain_from_rsdp),
        cmocka_unit_test(unrelocated_checksums),
        cmocka_unit_test(fadt_fields),
        cmocka_unit_test(madt_entries),
        cmocka_unit_test(dsdt_s5_and_layout),
        cmocka_unit_test(dsdt_names),
        cmocka_unit_test(aml_encodings),
        cmocka_unit_test(fw_cfg_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
