#include "machine/acpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/acpi_pm.h"
#include "machine/aml.h"

#define OEM_ID "BT86  "
#define CREATOR_ID "BT86"
#define HEADER_LEN 36

#define FADT_REVISION 3 /* ACPI 2.0+ layout: the reset register and IAPC_BOOT_ARCH */
#define FADT_LEN 244
#define FACS_LEN 64
#define RSDP_LEN 20

/* FADT field offsets (ACPI 6.4 table 5.9). */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_SCI_INT 46
#define FADT_SMI_CMD 48
#define FADT_ACPI_ENABLE 52
#define FADT_ACPI_DISABLE 53
#define FADT_PM1A_EVT 56
#define FADT_PM1A_CNT 64
#define FADT_PM_TMR 76
#define FADT_GPE0 80
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_PM_TMR_LEN 91
#define FADT_GPE0_LEN 92
#define FADT_P_LVL2_LAT 96
#define FADT_P_LVL3_LAT 98
#define FADT_CENTURY 108
#define FADT_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_PM1A_EVT 148
#define FADT_X_PM1A_CNT 172
#define FADT_X_PM_TMR 208
#define FADT_X_GPE0 220

#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PROC_C1 (1u << 2)
#define FADT_F_SLP_BUTTON (1u << 5) /* no fixed-feature sleep button */
#define FADT_F_FIX_RTC (1u << 6)    /* RTC wake status is not in the fixed registers */
#define FADT_F_RESET_REG_SUP (1u << 10)
#define BOOT_ARCH_LEGACY_DEVICES 0x0001
#define BOOT_ARCH_8042 0x0002

#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

#define RESET_PORT 0xCF9
#define RESET_VALUE 0x06 /* SRST | RCPU: a hard reset through the PIIX3 */
#define RTC_CENTURY 0x32

#define MADT_PCAT_COMPAT 1u
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_LAPIC_NMI 4
#define MPS_LEVEL_HIGH 0x000D /* trigger level (3 << 2), polarity active high (1) */

#define PCI_LINK_IRQS ((1u << 5) | (1u << 10) | (1u << 11)) /* offered to the PIRQ links */

uint8_t acpi_checksum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

void acpi_default_config(struct acpi_config *cfg, uint32_t ram_below_4g)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->pci_hole_start = ram_below_4g;
    cfg->pci_hole_end = 0xFEBFFFFFu;
    cfg->pm_base = 0x600;
    cfg->sci_irq = 9;
    cfg->ioapic_addr = 0xFEC00000u;
    cfg->lapic_addr = 0xFEE00000u;
    cfg->apic_pci = ACPI_APIC_PCI_VIA_ISA;
}

/* ---- a growable byte blob ---- */

struct blob {
    uint8_t *p;
    size_t len, cap;
    bool error;
};

static size_t blob_grow(struct blob *b, size_t n)
{
    size_t at = b->len;
    if (b->error)
        return 0;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->error = true;
            return 0;
        }
        b->p = p;
        b->cap = cap;
    }
    memset(b->p + at, 0, n);
    b->len += n;
    return at;
}

static void align_to(struct blob *b, size_t a)
{
    if (b->len % a)
        blob_grow(b, a - b->len % a);
}

static void put8(struct blob *b, size_t off, uint8_t v)
{
    if (!b->error)
        b->p[off] = v;
}
static void put16(struct blob *b, size_t off, uint16_t v)
{
    put8(b, off, (uint8_t)v);
    put8(b, off + 1, (uint8_t)(v >> 8));
}
static void put32(struct blob *b, size_t off, uint32_t v)
{
    put16(b, off, (uint16_t)v);
    put16(b, off + 2, (uint16_t)(v >> 16));
}
static void put64(struct blob *b, size_t off, uint64_t v)
{
    put32(b, off, (uint32_t)v);
    put32(b, off + 4, (uint32_t)(v >> 32));
}
static void putmem(struct blob *b, size_t off, const void *src, size_t n)
{
    if (!b->error)
        memcpy(b->p + off, src, n);
}

/* The common header; the length and checksum are set by finish_table. */
static size_t begin_table(struct blob *b, const char sig[4], uint8_t rev, const char *table_id)
{
    size_t at = blob_grow(b, HEADER_LEN);
    putmem(b, at, sig, 4);
    put8(b, at + 8, rev);
    putmem(b, at + 10, OEM_ID, 6);
    char id[8];
    memset(id, ' ', sizeof(id));
    memcpy(id, table_id, strlen(table_id) < 8 ? strlen(table_id) : 8);
    putmem(b, at + 16, id, 8);
    put32(b, at + 24, 1);        /* OEM revision */
    putmem(b, at + 28, CREATOR_ID, 4);
    put32(b, at + 32, 1);        /* creator revision */
    return at;
}

/* Checksummed as if loaded at address 0; the loader's ADD_CHECKSUM fixes the ones with
 * pointers after it relocates them. */
static void finish_table(struct blob *b, size_t at)
{
    if (b->error)
        return;
    put32(b, at + 4, (uint32_t)(b->len - at));
    put8(b, at + 9, 0);
    put8(b, at + 9, (uint8_t)-acpi_checksum(b->p + at, b->len - at));
}

/* ---- resource descriptors (ACPI 6.4 section 6.4) ---- */

struct res {
    uint8_t b[256];
    size_t n;
};

static void res_bytes(struct res *r, const uint8_t *p, size_t n)
{
    memcpy(r->b + r->n, p, n);
    r->n += n;
}

static void res_io(struct res *r, uint16_t base, uint8_t align, uint8_t len)
{
    uint8_t d[8] = {0x47, 0x01, (uint8_t)base, (uint8_t)(base >> 8), (uint8_t)base,
                    (uint8_t)(base >> 8), align, len}; /* 16-bit decode, fixed base */
    res_bytes(r, d, sizeof(d));
}

static void res_irq(struct res *r, uint16_t mask) /* IRQNoFlags: edge, active high */
{
    uint8_t d[3] = {0x22, (uint8_t)mask, (uint8_t)(mask >> 8)};
    res_bytes(r, d, sizeof(d));
}

static void res_dma(struct res *r, uint8_t mask) /* compatibility timing, 8-bit, not master */
{
    uint8_t d[3] = {0x2A, mask, 0x00};
    res_bytes(r, d, sizeof(d));
}

/* Extended interrupt: consumer, level, active high, shared. */
static void res_ext_irq(struct res *r, uint16_t mask)
{
    size_t at = r->n;
    uint8_t d[5] = {0x89, 0, 0, 0x09, 0};
    res_bytes(r, d, sizeof(d));
    for (unsigned i = 0; i < 16; i++)
        if (mask & (1u << i)) {
            uint8_t v[4] = {(uint8_t)i, 0, 0, 0};
            res_bytes(r, v, 4);
            r->b[at + 4]++;
        }
    r->b[at + 1] = (uint8_t)(r->n - at - 3);
}

/* Word address space: producer, fixed min and max, positive decode. */
static void res_word(struct res *r, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max)
{
    uint16_t len = (uint16_t)(max - min + 1);
    uint8_t d[16] = {0x88, 13, 0, type, 0x0C, type_flags, 0, 0,
                     (uint8_t)min, (uint8_t)(min >> 8), (uint8_t)max, (uint8_t)(max >> 8),
                     0, 0, (uint8_t)len, (uint8_t)(len >> 8)};
    res_bytes(r, d, sizeof(d));
}

/* DWord memory: producer, fixed, positive decode, cacheable, read-write. */
static void res_dword_mem(struct res *r, uint32_t min, uint32_t max)
{
    uint32_t f[5] = {0, min, max, 0, max - min + 1}; /* granularity, min, max, offset, length */
    uint8_t d[6] = {0x87, 23, 0, 0 /* memory */, 0x0C, 0x03};
    res_bytes(r, d, sizeof(d));
    for (int i = 0; i < 5; i++) {
        uint8_t v[4] = {(uint8_t)f[i], (uint8_t)(f[i] >> 8), (uint8_t)(f[i] >> 16),
                        (uint8_t)(f[i] >> 24)};
        res_bytes(r, v, 4);
    }
}

static void res_end(struct res *r)
{
    uint8_t d[2] = {0x79, 0x00}; /* a zero checksum means "valid" */
    res_bytes(r, d, sizeof(d));
}

static void name_res(struct aml *a, const char *name, const struct res *r)
{
    aml_name_decl(a, name);
    aml_buffer(a, r->b, r->n);
}

/* ---- the DSDT ---- */

static void isa_device(struct aml *a, const char *name, const char *hid, const struct res *crs,
                       int uid)
{
    aml_device_begin(a, name);
    aml_name_decl(a, "_HID");
    aml_eisaid(a, hid);
    if (uid >= 0) {
        aml_name_decl(a, "_UID");
        aml_int(a, (uint64_t)uid);
    }
    name_res(a, "_CRS", crs);
    aml_end(a);
}

static void isa_bridge(struct aml *a)
{
    aml_device_begin(a, "ISA");
    aml_name_decl(a, "_ADR");
    aml_int(a, 0x00010000); /* 00:01.0, the PIIX3 */
    aml_op_region(a, "PIRQ", AML_REGION_PCI_CONFIG, 0x60, 4);
    static const char *const prq[4] = {"PRQA", "PRQB", "PRQC", "PRQD"};
    static const unsigned bits[4] = {8, 8, 8, 8};
    aml_field(a, "PIRQ", AML_FIELD_BYTE_ACC, prq, bits, 4);

    struct res r = {.n = 0};
    res_io(&r, 0x60, 1, 1);
    res_io(&r, 0x64, 1, 1);
    res_irq(&r, 1u << 1);
    res_end(&r);
    isa_device(a, "KBD", "PNP0303", &r, -1);

    r.n = 0;
    res_irq(&r, 1u << 12);
    res_end(&r);
    isa_device(a, "MOU", "PNP0F13", &r, -1);

    r.n = 0;
    res_io(&r, 0x3F2, 1, 4);
    res_io(&r, 0x3F7, 1, 1);
    res_irq(&r, 1u << 6);
    res_dma(&r, 1u << 2);
    res_end(&r);
    isa_device(a, "FDC0", "PNP0700", &r, -1);

    r.n = 0;
    res_io(&r, 0x3F8, 1, 8);
    res_irq(&r, 1u << 4);
    res_end(&r);
    isa_device(a, "COM1", "PNP0501", &r, 1);

    r.n = 0;
    res_io(&r, 0x70, 1, 2);
    res_irq(&r, 1u << 8);
    res_end(&r);
    isa_device(a, "RTC", "PNP0B00", &r, -1);
    aml_end(a);
}

/* _PRT entries: slot s pin p (0 = INTA) goes to PIRQ (s + p - 1) mod 4, the PIIX3 rotation
 * (devices/piix3.h, piix3_pirq_of). gsi_base < 0: to the link devices, else to GSIs. */
static void prt_package(struct aml *a, int gsi_base)
{
    static const char *const links[4] = {"\\_SB.LNKA", "\\_SB.LNKB", "\\_SB.LNKC",
                                         "\\_SB.LNKD"};
    aml_package_begin(a, 128);
    for (unsigned slot = 0; slot < 32; slot++)
        for (unsigned pin = 0; pin < 4; pin++) {
            unsigned pirq = (slot + pin + 3) & 3;
            aml_package_begin(a, 4);
            aml_int(a, (uint64_t)slot << 16 | 0xFFFF);
            aml_int(a, pin);
            if (gsi_base < 0) {
                aml_name(a, links[pirq]);
                aml_int(a, 0);
            } else {
                aml_int(a, 0);
                aml_int(a, (uint64_t)gsi_base + pirq);
            }
            aml_end(a);
        }
    aml_end(a);
}

static void pci_root(struct aml *a, const struct acpi_config *cfg)
{
    aml_device_begin(a, "PCI0");
    aml_name_decl(a, "_HID");
    aml_eisaid(a, "PNP0A03");
    aml_name_decl(a, "_UID");
    aml_int(a, 0);

    struct res r = {.n = 0};
    res_word(&r, 2, 0, 0x00, 0xFF);          /* bus numbers */
    res_io(&r, 0xCF8, 1, 8);                  /* the configuration ports, consumed */
    res_word(&r, 1, 0x03, 0x0000, 0x0CF7);    /* I/O below and above them */
    res_word(&r, 1, 0x03, 0x0D00, 0xFFFF);
    res_dword_mem(&r, 0x000A0000, 0x000BFFFF); /* VGA */
    if (cfg->pci_hole_start < cfg->pci_hole_end)
        res_dword_mem(&r, cfg->pci_hole_start, cfg->pci_hole_end);
    res_end(&r);
    name_res(a, "_CRS", &r);

    if (cfg->apic && cfg->apic_pci == ACPI_APIC_PCI_GSI16) {
        aml_name_decl(a, "PRTP");
        prt_package(a, -1);
        aml_name_decl(a, "PRTA");
        prt_package(a, 16);
        /* Method(_PRT) { If (PICF) { Return (PRTA) } Return (PRTP) } */
        aml_method_begin(a, "_PRT", 0, false);
        aml_if_begin(a);
        aml_name(a, "\\PICF");
        aml_byte(a, AML_RETURN);
        aml_name(a, "PRTA");
        aml_end(a);
        aml_byte(a, AML_RETURN);
        aml_name(a, "PRTP");
        aml_end(a);
    } else {
        aml_name_decl(a, "_PRT");
        prt_package(a, -1);
    }
    isa_bridge(a);
    aml_end(a);
}

static void link_helpers(struct aml *a)
{
    /* Method(IQST, 1) { If (And(0x80, Arg0)) { Return (0x09) } Return (0x0B) }:
     * a disabled route is present but not enabled. */
    aml_method_begin(a, "IQST", 1, false);
    aml_if_begin(a);
    aml_byte(a, AML_AND);
    aml_int(a, 0x80);
    aml_byte(a, AML_ARG0);
    aml_byte(a, AML_ZERO); /* no target */
    aml_byte(a, AML_RETURN);
    aml_int(a, 0x09);
    aml_end(a);
    aml_byte(a, AML_RETURN);
    aml_int(a, 0x0B);
    aml_end(a);

    /* Method(IQCR, 1) {
     *   Store(ResourceTemplate() { Interrupt(, Level, ActiveHigh, Shared) { 0 } }, Local0)
     *   If (LLess(Arg0, 0x80)) { Store(And(Arg0, 0x0F), Index(Local0, 5)) }
     *   Return (Local0) }
     * The IRQ is at most 15, so its low byte is all that changes. */
    aml_method_begin(a, "IQCR", 1, false);
    struct res r = {.n = 0};
    res_ext_irq(&r, 1u << 0);
    res_end(&r);
    aml_byte(a, AML_STORE);
    aml_buffer(a, r.b, r.n);
    aml_byte(a, AML_LOCAL0);
    aml_if_begin(a);
    aml_byte(a, AML_LLESS);
    aml_byte(a, AML_ARG0);
    aml_int(a, 0x80);
    aml_byte(a, AML_STORE);
    aml_byte(a, AML_AND);
    aml_byte(a, AML_ARG0);
    aml_int(a, 0x0F);
    aml_byte(a, AML_ZERO);
    aml_byte(a, AML_INDEX);
    aml_byte(a, AML_LOCAL0);
    aml_int(a, 5);
    aml_byte(a, AML_ZERO);
    aml_end(a);
    aml_byte(a, AML_RETURN);
    aml_byte(a, AML_LOCAL0);
    aml_end(a);
}

static void link_device(struct aml *a, unsigned i)
{
    char name[5] = "LNKA", reg[20];
    name[3] = (char)('A' + i);
    snprintf(reg, sizeof(reg), "\\_SB.PCI0.ISA.PRQ%c", 'A' + i);

    aml_device_begin(a, name);
    aml_name_decl(a, "_HID");
    aml_eisaid(a, "PNP0C0F");
    aml_name_decl(a, "_UID");
    aml_int(a, i + 1);
    struct res r = {.n = 0};
    res_ext_irq(&r, PCI_LINK_IRQS);
    res_end(&r);
    name_res(a, "_PRS", &r);

    aml_method_begin(a, "_STA", 0, false); /* Return (IQST(PRQx)) */
    aml_byte(a, AML_RETURN);
    aml_name(a, "\\_SB.IQST");
    aml_name(a, reg);
    aml_end(a);

    aml_method_begin(a, "_DIS", 0, false); /* Or(PRQx, 0x80, PRQx) */
    aml_byte(a, AML_OR);
    aml_name(a, reg);
    aml_int(a, 0x80);
    aml_name(a, reg);
    aml_end(a);

    aml_method_begin(a, "_CRS", 0, false); /* Return (IQCR(PRQx)) */
    aml_byte(a, AML_RETURN);
    aml_name(a, "\\_SB.IQCR");
    aml_name(a, reg);
    aml_end(a);

    /* Method(_SRS, 1, Serialized) { CreateDWordField(Arg0, 5, PRRI); Store(PRRI, PRQx) } */
    aml_method_begin(a, "_SRS", 1, true);
    aml_create_dword_field_op(a);
    aml_byte(a, AML_ARG0);
    aml_int(a, 5);
    aml_name(a, "PRRI");
    aml_byte(a, AML_STORE);
    aml_name(a, "PRRI");
    aml_name(a, reg);
    aml_end(a);
    aml_end(a);
}

static void dsdt_body(struct aml *a, const struct acpi_config *cfg)
{
    /* Name(\_S5, Package(4) { 0, 0, 0, 0 }): SLP_TYP for PM1a and PM1b */
    aml_name_decl(a, "\\_S5");
    aml_package_begin(a, 4);
    for (int i = 0; i < 4; i++)
        aml_int(a, ACPI_PM1_SLP_TYP_S5);
    aml_end(a);

    /* The interrupt model the OS chose: 0 PIC, 1 APIC. */
    aml_name_decl(a, "PICF");
    aml_int(a, 0);
    aml_method_begin(a, "\\_PIC", 1, false);
    aml_byte(a, AML_STORE);
    aml_byte(a, AML_ARG0);
    aml_name(a, "\\PICF");
    aml_end(a);

    aml_scope_begin(a, "\\_SB");
    aml_device_begin(a, "CPU0");
    aml_name_decl(a, "_HID");
    aml_string(a, "ACPI0007");
    aml_name_decl(a, "_UID");
    aml_int(a, 0);
    aml_end(a);
    link_helpers(a);
    pci_root(a, cfg);
    for (unsigned i = 0; i < 4; i++)
        link_device(a, i);
    aml_end(a);
}

/* ---- the tables ---- */

static void put_gas_io(struct blob *b, size_t off, uint8_t bits, uint8_t access, uint32_t port)
{
    put8(b, off, GAS_SYSTEM_IO);
    put8(b, off + 1, bits);
    put8(b, off + 2, 0);
    put8(b, off + 3, access);
    put64(b, off + 4, port);
}

static size_t build_fadt(struct blob *b, const struct acpi_config *cfg, uint32_t facs,
                         uint32_t dsdt)
{
    size_t t = begin_table(b, "FACP", FADT_REVISION, "BT86FACP");
    blob_grow(b, FADT_LEN - HEADER_LEN);
    uint16_t pm = cfg->pm_base;
    put32(b, t + FADT_FIRMWARE_CTRL, facs);
    put32(b, t + FADT_DSDT, dsdt);
    put16(b, t + FADT_SCI_INT, cfg->sci_irq);
    put32(b, t + FADT_SMI_CMD, ACPI_PM_APMC_PORT);
    put8(b, t + FADT_ACPI_ENABLE, ACPI_PM_ACPI_ENABLE);
    put8(b, t + FADT_ACPI_DISABLE, ACPI_PM_ACPI_DISABLE);
    put32(b, t + FADT_PM1A_EVT, pm + ACPI_PM1_STS);
    put32(b, t + FADT_PM1A_CNT, pm + ACPI_PM1_CNT);
    put32(b, t + FADT_PM_TMR, pm + ACPI_PM_TMR);
    put32(b, t + FADT_GPE0, pm + ACPI_GPE0_STS);
    put8(b, t + FADT_PM1_EVT_LEN, 4);
    put8(b, t + FADT_PM1_CNT_LEN, 2);
    put8(b, t + FADT_PM_TMR_LEN, 4);
    put8(b, t + FADT_GPE0_LEN, 4);
    put16(b, t + FADT_P_LVL2_LAT, 101);  /* > 100: no C2 */
    put16(b, t + FADT_P_LVL3_LAT, 1001); /* > 1000: no C3 */
    put8(b, t + FADT_CENTURY, RTC_CENTURY);
    put16(b, t + FADT_BOOT_ARCH, BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_8042);
    put32(b, t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON |
                                 FADT_F_FIX_RTC | FADT_F_RESET_REG_SUP);
    put_gas_io(b, t + FADT_RESET_REG, 8, GAS_ACCESS_BYTE, RESET_PORT);
    put8(b, t + FADT_RESET_VALUE, RESET_VALUE);
    /* The extended blocks say the same as the 32-bit ones, widths matching the lengths. */
    put_gas_io(b, t + FADT_X_PM1A_EVT, 32, 0, pm + ACPI_PM1_STS);
    put_gas_io(b, t + FADT_X_PM1A_CNT, 16, 0, pm + ACPI_PM1_CNT);
    put_gas_io(b, t + FADT_X_PM_TMR, 32, 0, pm + ACPI_PM_TMR);
    put_gas_io(b, t + FADT_X_GPE0, 32, 0, pm + ACPI_GPE0_STS);
    finish_table(b, t);
    return t;
}

static void madt_iso(struct blob *b, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    size_t e = blob_grow(b, 10);
    put8(b, e, MADT_ISO);
    put8(b, e + 1, 10);
    put8(b, e + 2, 0); /* ISA */
    put8(b, e + 3, irq);
    put32(b, e + 4, gsi);
    put16(b, e + 8, flags);
}

static size_t build_madt(struct blob *b, const struct acpi_config *cfg)
{
    size_t t = begin_table(b, "APIC", 1, "BT86APIC");
    size_t h = blob_grow(b, 8);
    put32(b, h, cfg->lapic_addr);
    put32(b, h + 4, MADT_PCAT_COMPAT); /* the 8259s are there too */

    size_t e = blob_grow(b, 8);
    put8(b, e, MADT_LAPIC);
    put8(b, e + 1, 8);
    put8(b, e + 2, 0); /* processor UID: \_SB.CPU0's _UID */
    put8(b, e + 3, 0); /* APIC ID */
    put32(b, e + 4, 1); /* enabled */

    e = blob_grow(b, 12);
    put8(b, e, MADT_IOAPIC);
    put8(b, e + 1, 12);
    put8(b, e + 2, cfg->ioapic_id);
    put32(b, e + 4, cfg->ioapic_addr);
    put32(b, e + 8, 0); /* GSI base */

    madt_iso(b, 0, 2, 0); /* the PIT's IRQ0 is on pin 2; flags: as the ISA bus */
    uint16_t isa_pci = 0;
    if (cfg->apic_pci == ACPI_APIC_PCI_VIA_ISA)
        isa_pci = PCI_LINK_IRQS;
    for (unsigned irq = 1; irq < 16; irq++)
        if (irq == cfg->sci_irq || (isa_pci & (1u << irq)))
            madt_iso(b, (uint8_t)irq, irq, MPS_LEVEL_HIGH);

    e = blob_grow(b, 6);
    put8(b, e, MADT_LAPIC_NMI);
    put8(b, e + 1, 6);
    put8(b, e + 2, 0xFF); /* all processors */
    put16(b, e + 3, 0);
    put8(b, e + 5, 1);    /* LINT1 */
    finish_table(b, t);
    return t;
}

/* ---- the loader script ---- */

static void loader_name(struct blob *l, size_t off, const char *name)
{
    putmem(l, off, name, strlen(name)); /* the rest stays NUL */
}

static void ld_allocate(struct blob *l, const char *file, uint32_t align, uint8_t zone)
{
    size_t e = blob_grow(l, ACPI_LOADER_ENTRY_SIZE);
    put32(l, e, ACPI_LOADER_ALLOCATE);
    loader_name(l, e + 4, file);
    put32(l, e + 4 + ACPI_LOADER_FILESZ, align);
    put8(l, e + 8 + ACPI_LOADER_FILESZ, zone);
}

static void ld_pointer(struct blob *l, const char *dest, const char *src, uint32_t offset,
                       uint8_t size)
{
    size_t e = blob_grow(l, ACPI_LOADER_ENTRY_SIZE);
    put32(l, e, ACPI_LOADER_ADD_POINTER);
    loader_name(l, e + 4, dest);
    loader_name(l, e + 4 + ACPI_LOADER_FILESZ, src);
    put32(l, e + 4 + 2 * ACPI_LOADER_FILESZ, offset);
    put8(l, e + 8 + 2 * ACPI_LOADER_FILESZ, size);
}

static void ld_checksum(struct blob *l, const char *file, uint32_t offset, uint32_t start,
                        uint32_t len)
{
    size_t e = blob_grow(l, ACPI_LOADER_ENTRY_SIZE);
    put32(l, e, ACPI_LOADER_ADD_CHECKSUM);
    loader_name(l, e + 4, file);
    put32(l, e + 4 + ACPI_LOADER_FILESZ, offset);
    put32(l, e + 8 + ACPI_LOADER_FILESZ, start);
    put32(l, e + 12 + ACPI_LOADER_FILESZ, len);
}

static uint32_t table_len(const struct blob *b, size_t t)
{
    const uint8_t *p = b->p + t + 4;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int acpi_build(const struct acpi_config *cfg, struct acpi_blobs *out)
{
    memset(out, 0, sizeof(*out));
    struct blob t = {0}, rsdp = {0}, ld = {0};
    struct aml a;
    aml_init(&a);
    dsdt_body(&a, cfg);
    if (a.error || a.depth) {
        aml_free(&a);
        return -1;
    }

    /* The FACS first: the allocation's 64-byte alignment is the FACS's. */
    size_t facs = blob_grow(&t, FACS_LEN);
    putmem(&t, facs, "FACS", 4);
    put32(&t, facs + 4, FACS_LEN);
    put8(&t, facs + 32, 1); /* version */

    size_t dsdt = begin_table(&t, "DSDT", 1, "BT86DSDT"); /* revision 1: 32-bit integers */
    size_t body = blob_grow(&t, a.len);
    putmem(&t, body, a.buf, a.len);
    finish_table(&t, dsdt);
    aml_free(&a);

    align_to(&t, 8);
    size_t fadt = build_fadt(&t, cfg, (uint32_t)facs, (uint32_t)dsdt);
    size_t madt = 0;
    if (cfg->apic) {
        align_to(&t, 8);
        madt = build_madt(&t, cfg);
    }
    align_to(&t, 8);
    size_t rsdt = begin_table(&t, "RSDT", 1, "BT86RSDT");
    size_t ent = blob_grow(&t, madt ? 8 : 4);
    put32(&t, ent, (uint32_t)fadt);
    if (madt)
        put32(&t, ent + 4, (uint32_t)madt);
    finish_table(&t, rsdt);

    blob_grow(&rsdp, RSDP_LEN);
    putmem(&rsdp, 0, "RSD PTR ", 8);
    putmem(&rsdp, 9, OEM_ID, 6);
    put8(&rsdp, 15, 0); /* revision 0: ACPI 1.0 RSDP, RSDT only */
    put32(&rsdp, 16, (uint32_t)rsdt);
    if (!rsdp.error)
        put8(&rsdp, 8, (uint8_t)-acpi_checksum(rsdp.p, RSDP_LEN));

    if (t.error || rsdp.error) {
        free(t.p);
        free(rsdp.p);
        return -1;
    }
    ld_allocate(&ld, ACPI_FILE_TABLES, 64, ACPI_LOADER_ZONE_HIGH);
    ld_pointer(&ld, ACPI_FILE_TABLES, ACPI_FILE_TABLES, (uint32_t)(fadt + FADT_FIRMWARE_CTRL), 4);
    ld_pointer(&ld, ACPI_FILE_TABLES, ACPI_FILE_TABLES, (uint32_t)(fadt + FADT_DSDT), 4);
    ld_checksum(&ld, ACPI_FILE_TABLES, (uint32_t)(fadt + 9), (uint32_t)fadt, table_len(&t, fadt));
    ld_pointer(&ld, ACPI_FILE_TABLES, ACPI_FILE_TABLES, (uint32_t)ent, 4);
    if (madt)
        ld_pointer(&ld, ACPI_FILE_TABLES, ACPI_FILE_TABLES, (uint32_t)ent + 4, 4);
    ld_checksum(&ld, ACPI_FILE_TABLES, (uint32_t)(rsdt + 9), (uint32_t)rsdt, table_len(&t, rsdt));
    ld_allocate(&ld, ACPI_FILE_RSDP, 16, ACPI_LOADER_ZONE_FSEG);
    ld_pointer(&ld, ACPI_FILE_RSDP, ACPI_FILE_TABLES, 16, 4);
    ld_checksum(&ld, ACPI_FILE_RSDP, 8, 0, RSDP_LEN);
    if (ld.error) {
        free(t.p);
        free(rsdp.p);
        free(ld.p);
        return -1;
    }

    *out = (struct acpi_blobs){
        .tables = t.p, .rsdp = rsdp.p, .loader = ld.p,
        .tables_len = (uint32_t)t.len, .rsdp_len = (uint32_t)rsdp.len,
        .loader_len = (uint32_t)ld.len,
        .facs_off = (uint32_t)facs, .dsdt_off = (uint32_t)dsdt, .fadt_off = (uint32_t)fadt,
        .madt_off = (uint32_t)madt, .rsdt_off = (uint32_t)rsdt,
    };
    return 0;
}

void acpi_blobs_free(struct acpi_blobs *b)
{
    free(b->tables);
    free(b->rsdp);
    free(b->loader);
    memset(b, 0, sizeof(*b));
}

int acpi_install(struct fw_cfg *fw, const struct acpi_config *cfg)
{
    struct acpi_blobs b;
    if (acpi_build(cfg, &b))
        return -1;
    /* The loader last: firmware that finds it expects the files it names. */
    int r = fw_cfg_add_file(fw, ACPI_FILE_TABLES, b.tables, b.tables_len) < 0 ||
            fw_cfg_add_file(fw, ACPI_FILE_RSDP, b.rsdp, b.rsdp_len) < 0 ||
            fw_cfg_add_file(fw, ACPI_FILE_LOADER, b.loader, b.loader_len) < 0;
    acpi_blobs_free(&b);
    return r ? -1 : 0;
}
