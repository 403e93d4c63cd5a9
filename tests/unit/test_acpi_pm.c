/* Unit tests of the PIIX4 power-management function (devices/acpi_pm.c), driven through its
 * configuration space and I/O ports as SeaBIOS and an ACPI OS drive it. Expected values come
 * from the 82371AB datasheet (function 3) and the ACPI specification's fixed hardware. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/acpi_pm.h"
#include "devices/clock.h"
#include "devices/ioport.h"
#include "devices/pci.h"

#define PM 0x600
#define SMB 0x700

struct fixture {
    struct ioport_bus io;
    struct pci_bus bus;
    struct vclock clock;
    struct acpi_pm pm;
    unsigned power_offs;
    bool sci;
    unsigned sci_changes;
};

static void on_power_off(void *opaque) { ((struct fixture *)opaque)->power_offs++; }

static void on_sci(void *opaque, unsigned line, bool level)
{
    struct fixture *f = opaque;
    assert_int_equal(line, 9);
    f->sci = level;
    f->sci_changes++;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    ioport_init(&f->io);
    vclock_init(&f->clock);
    struct acpi_pm_callbacks cb = {on_power_off, f};
    if (acpi_pm_attach(&f->pm, &f->io, &f->bus, &f->clock, &cb))
        return -1;
    f->pm.sci = (struct irq_line){on_sci, f, 9};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    acpi_pm_detach(&f->pm);
    free(f);
    return 0;
}

static uint32_t cfg_rd(struct fixture *f, unsigned off, unsigned size)
{
    return pci_bus_read(&f->bus, ACPI_PM_DEVFN, off, size);
}

static void cfg_wr(struct fixture *f, unsigned off, uint32_t v, unsigned size)
{
    pci_bus_write(&f->bus, ACPI_PM_DEVFN, off, v, size);
}

static uint32_t in(struct fixture *f, uint16_t port, unsigned size)
{
    return ioport_read(&f->io, port, size);
}

static void out(struct fixture *f, uint16_t port, uint32_t v, unsigned size)
{
    ioport_write(&f->io, port, v, size);
}

/* What SeaBIOS's piix4_pm_setup does when it loads tables from fw_cfg. */
static void firmware_setup(struct fixture *f)
{
    cfg_wr(f, PCI_INTERRUPT_LINE, 9, 1);
    cfg_wr(f, ACPI_PM_PMBA, PM | 1, 4);
    cfg_wr(f, ACPI_PM_PMREGMISC, 0x01, 1);
    cfg_wr(f, ACPI_PM_SMBBA, SMB | 1, 4);
    cfg_wr(f, ACPI_PM_SMBHSTCFG, 0x09, 1);
    cfg_wr(f, PCI_COMMAND, PCI_COMMAND_IO, 2);
}

static void advance(struct fixture *f, uint64_t ns) { vclock_advance(&f->clock, f->clock.now + ns); }

static void identity(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(cfg_rd(f, 0, 4), 0x71138086);
    assert_int_equal(cfg_rd(f, PCI_REVISION, 1), 0x03);
    assert_int_equal(cfg_rd(f, PCI_REVISION, 4) >> 8, 0x068000);
    assert_int_equal(cfg_rd(f, PCI_HEADER_TYPE, 1), 0x00);
    assert_int_equal(cfg_rd(f, PCI_INTERRUPT_PIN, 1), 0x01);
    /* The I/O indicator bits read 1 and stay 1; the granule masks the low bits. */
    assert_int_equal(cfg_rd(f, ACPI_PM_PMBA, 4), 0x00000001);
    cfg_wr(f, ACPI_PM_PMBA, 0xFFFFFFFF, 4);
    assert_int_equal(cfg_rd(f, ACPI_PM_PMBA, 4), 0x0000FFC1);
    cfg_wr(f, ACPI_PM_SMBBA, 0xFFFFFFFF, 4);
    assert_int_equal(cfg_rd(f, ACPI_PM_SMBBA, 4), 0x0000FFF1);
    /* "SMI on APMC write" reads set and cannot be cleared: there is no SMM to set up. */
    assert_true(cfg_rd(f, ACPI_PM_DEVACTB, 4) & (1u << 25));
    cfg_wr(f, ACPI_PM_DEVACTB, 0, 4);
    assert_true(cfg_rd(f, ACPI_PM_DEVACTB, 4) & (1u << 25));
}

static void windows_follow_config(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(in(f, PM + ACPI_PM1_CNT, 2), 0xFFFF); /* nothing there before setup */
    cfg_wr(f, ACPI_PM_PMBA, PM | 1, 4);
    assert_int_equal(in(f, PM + ACPI_PM1_CNT, 2), 0xFFFF); /* PMIOSE still clear */
    cfg_wr(f, ACPI_PM_PMREGMISC, 0x01, 1);
    assert_int_equal(in(f, PM + ACPI_PM1_CNT, 2), 0x0000);
    /* Moved: the old ports are free again. */
    cfg_wr(f, ACPI_PM_PMBA, 0xB000 | 1, 4);
    assert_int_equal(in(f, PM + ACPI_PM1_CNT, 2), 0xFFFF);
    assert_int_equal(in(f, 0xB000 + ACPI_PM1_CNT, 2), 0x0000);
    cfg_wr(f, ACPI_PM_PMREGMISC, 0x00, 1);
    assert_int_equal(in(f, 0xB000 + ACPI_PM1_CNT, 2), 0xFFFF);

    /* SMBus needs both its enable and the command register's I/O enable. */
    cfg_wr(f, ACPI_PM_SMBBA, SMB | 1, 4);
    cfg_wr(f, ACPI_PM_SMBHSTCFG, 0x09, 1);
    assert_int_equal(in(f, SMB, 1), 0xFF);
    cfg_wr(f, PCI_COMMAND, PCI_COMMAND_IO, 2);
    assert_int_equal(in(f, SMB, 1), 0x00);
    cfg_wr(f, PCI_COMMAND, 0, 2);
    assert_int_equal(in(f, SMB, 1), 0xFF);
}

static uint32_t dummy_read(void *o, uint16_t p, unsigned s)
{
    (void)o;
    (void)p;
    (void)s;
    return 0x5A;
}
static void dummy_write(void *o, uint16_t p, uint32_t v, unsigned s)
{
    (void)o;
    (void)p;
    (void)v;
    (void)s;
}
static const struct ioport_ops dummy_ops = {dummy_read, dummy_write};

/* A window put over another device's ports stays unmapped; moved away, it works again. */
static void window_clash(void **state)
{
    struct fixture *f = *state;
    int other;
    assert_int_equal(ioport_register(&f->io, 0x3F8, 8, &dummy_ops, &other), 0);
    cfg_wr(f, ACPI_PM_PMREGMISC, 0x01, 1);
    cfg_wr(f, ACPI_PM_PMBA, 0x3C0 | 1, 4); /* 0x3C0-0x3FF covers 0x3F8 */
    assert_true(f->pm.pm_clash);
    assert_int_equal(in(f, 0x3F8, 1), 0x5A);
    assert_int_equal(in(f, 0x3C0 + ACPI_PM1_CNT, 2), 0xFFFF);
    /* ... and over its own APM ports too. */
    cfg_wr(f, ACPI_PM_PMBA, 0x80 | 1, 4);
    assert_true(f->pm.pm_clash);
    cfg_wr(f, ACPI_PM_PMBA, PM | 1, 4);
    assert_false(f->pm.pm_clash);
    assert_int_equal(in(f, PM + ACPI_PM1_CNT, 2), 0x0000);
    assert_int_equal(in(f, 0x3F8, 1), 0x5A);
}

static void pm_timer(void **state)
{
    struct fixture *f = *state;
    firmware_setup(f);
    assert_int_equal(in(f, PM + ACPI_PM_TMR, 4), 0);
    advance(f, NS_PER_SEC);
    assert_int_equal(in(f, PM + ACPI_PM_TMR, 4), ACPI_PM_TIMER_HZ & 0xFFFFFF);
    /* 24 bits: it wraps after 2^24 ticks (about 4.69 s). */
    vclock_advance(&f->clock, 5 * NS_PER_SEC);
    assert_int_equal(in(f, PM + ACPI_PM_TMR, 4), (5 * ACPI_PM_TIMER_HZ) & 0xFFFFFF);
    /* A byte read gives the same count's low byte; writes change nothing. */
    out(f, PM + ACPI_PM_TMR, 0, 4);
    assert_int_equal(in(f, PM + ACPI_PM_TMR, 1), (5 * ACPI_PM_TIMER_HZ) & 0xFF);
    /* Exact for very long runs too (no overflow in the conversion). */
    uint64_t day = 86400ull * NS_PER_SEC * 365;
    assert_int_equal(acpi_pm_timer_at(day), (uint32_t)((86400ull * 365 * ACPI_PM_TIMER_HZ) & 0xFFFFFF));
    assert_int_equal(acpi_pm_timer_at(279), 0); /* 1 tick = 279.4 ns */
    assert_int_equal(acpi_pm_timer_at(280), 1);
}

static void timer_overflow_status_and_sci(void **state)
{
    struct fixture *f = *state;
    firmware_setup(f);
    uint64_t msb_ns = (uint64_t)(1u << 23) * NS_PER_SEC / ACPI_PM_TIMER_HZ; /* ~2.34 s */
    vclock_advance(&f->clock, msb_ns - 1000);
    assert_int_equal(in(f, PM + ACPI_PM1_STS, 2) & ACPI_PM1_TMR, 0);
    vclock_advance(&f->clock, msb_ns + 1000);
    assert_int_equal(in(f, PM + ACPI_PM1_STS, 2) & ACPI_PM1_TMR, ACPI_PM1_TMR);
    out(f, PM + ACPI_PM1_STS, ACPI_PM1_TMR, 2); /* write 1 to clear */
    assert_int_equal(in(f, PM + ACPI_PM1_STS, 2) & ACPI_PM1_TMR, 0);
    assert_false(f->sci);

    /* Enabled, in ACPI mode: the SCI rises at the next MSB change by itself. */
    out(f, ACPI_PM_APMC_PORT, ACPI_PM_ACPI_ENABLE, 1);
    out(f, PM + ACPI_PM1_EN, ACPI_PM1_TMR, 2);
    assert_false(f->sci);
    uint64_t next = vclock_next_deadline(&f->clock);
    assert_true(next > f->clock.now && next <= 2 * msb_ns + 1);
    assert_int_equal(acpi_pm_timer_at(next), 1u << 24 & 0xFFFFFF); /* bit 23 went 1 -> 0 */
    assert_int_equal(acpi_pm_timer_at(next - 1), 0xFFFFFF);
    vclock_advance(&f->clock, next);
    assert_true(f->sci);
    out(f, PM + ACPI_PM1_STS, 0xFFFF, 2);
    assert_false(f->sci);
    /* Disabled: no timer left running. */
    out(f, PM + ACPI_PM1_EN, 0, 2);
    assert_int_equal(vclock_next_deadline(&f->clock), UINT64_MAX);
}

static void acpi_mode_handshake(void **state)
{
    struct fixture *f = *state;
    firmware_setup(f);
    assert_int_equal(in(f, PM + ACPI_PM1_CNT, 2) & ACPI_PM1_SCI_EN, 0);
    out(f, ACPI_PM_APMC_PORT, ACPI_PM_ACPI_ENABLE, 1);
    assert_int_equal(in(f, PM + ACPI_PM1_CNT, 2) & ACPI_PM1_SCI_EN, ACPI_PM1_SCI_EN);
    assert_int_equal(in(f, ACPI_PM_APMC_PORT, 1), ACPI_PM_ACPI_ENABLE);
    out(f, ACPI_PM_APMS_PORT, 0x42, 1);
    assert_int_equal(in(f, ACPI_PM_APMS_PORT, 1), 0x42);
    out(f, ACPI_PM_APMC_PORT, ACPI_PM_ACPI_DISABLE, 1);
    assert_int_equal(in(f, PM + ACPI_PM1_CNT, 2) & ACPI_PM1_SCI_EN, 0);
}

static void power_button(void **state)
{
    struct fixture *f = *state;
    firmware_setup(f);
    acpi_pm_power_button(&f->pm); /* legacy mode: status only */
    assert_int_equal(in(f, PM + ACPI_PM1_STS, 2) & ACPI_PM1_PWRBTN, ACPI_PM1_PWRBTN);
    assert_false(f->sci);
    out(f, ACPI_PM_APMC_PORT, ACPI_PM_ACPI_ENABLE, 1);
    assert_false(f->sci);
    out(f, PM + ACPI_PM1_EN, ACPI_PM1_PWRBTN, 2);
    assert_true(f->sci); /* the pending status now raises it */
    /* Clearing the high byte alone (a byte write) drops it. */
    out(f, PM + ACPI_PM1_STS + 1, ACPI_PM1_PWRBTN >> 8, 1);
    assert_false(f->sci);
    assert_int_equal(in(f, PM + ACPI_PM1_STS, 2) & ACPI_PM1_PWRBTN, 0);
    assert_int_equal(f->power_offs, 0);
}

static void soft_off(void **state)
{
    struct fixture *f = *state;
    firmware_setup(f);
    out(f, ACPI_PM_APMC_PORT, ACPI_PM_ACPI_ENABLE, 1);
    /* Linux writes SLP_TYP first, then SLP_TYP | SLP_EN. */
    out(f, PM + ACPI_PM1_CNT, ACPI_PM1_SCI_EN | (0 << ACPI_PM1_SLP_TYP_SHIFT), 2);
    assert_int_equal(f->power_offs, 0);
    out(f, PM + ACPI_PM1_CNT, ACPI_PM1_SCI_EN | ACPI_PM1_SLP_EN, 2);
    assert_int_equal(f->power_offs, 1);
    /* SLP_EN reads 0; SCI_EN is kept. */
    assert_int_equal(in(f, PM + ACPI_PM1_CNT, 2), ACPI_PM1_SCI_EN);
    /* Sleep types other than soft-off are not supported: nothing happens. */
    for (unsigned t = 1; t < 8; t++)
        out(f, PM + ACPI_PM1_CNT, t << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN, 2);
    assert_int_equal(f->power_offs, 1);
    assert_int_equal(in(f, PM + ACPI_PM1_CNT, 2), 7u << ACPI_PM1_SLP_TYP_SHIFT);
    /* SeaBIOS's APM shutdown: one 16-bit write of SLP_EN with type 0. */
    out(f, PM + ACPI_PM1_CNT, 0x2000, 2);
    assert_int_equal(f->power_offs, 2);
    /* A byte write of the high byte alone works the same. */
    out(f, PM + ACPI_PM1_CNT + 1, 0x20, 1);
    assert_int_equal(f->power_offs, 3);
}

static void gpe_and_storage(void **state)
{
    struct fixture *f = *state;
    firmware_setup(f);
    out(f, PM + ACPI_GPE0_EN, 0xFFFF, 2);
    assert_int_equal(in(f, PM + ACPI_GPE0_EN, 2), 0xFFFF);
    assert_int_equal(in(f, PM + ACPI_GPE0_STS, 2), 0x0000);
    out(f, PM + 0x10, 0x12345678, 4); /* PCNTRL: storage */
    assert_int_equal(in(f, PM + 0x10, 4), 0x12345678);
    assert_int_equal(in(f, PM + 0x14, 1), 0); /* P_LVL2 */
    out(f, PM + 0x30, 0xFFFFFFFF, 4);           /* GPIREG is input only */
    assert_int_equal(in(f, PM + 0x30, 4), 0);
    /* Reserved bits of the enables never stick. */
    out(f, PM + ACPI_PM1_EN, 0xFFFF, 2);
    assert_int_equal(in(f, PM + ACPI_PM1_EN, 2), ACPI_PM1_EN_MASK);
}

static void smbus_empty_bus(void **state)
{
    struct fixture *f = *state;
    firmware_setup(f);
    out(f, SMB + 4, 0xA1, 1);    /* read from address 0x50 */
    out(f, SMB + 2, 0x48, 1);    /* byte data, start */
    assert_int_equal(in(f, SMB + 0, 1) & 0x04, 0x04); /* DEV_ERR: no one answered */
    assert_int_equal(in(f, SMB + 2, 1) & 0x40, 0);    /* START reads 0 */
    assert_int_equal(in(f, SMB + 4, 1), 0xA1);
    out(f, SMB + 0, 0x1E, 1);
    assert_int_equal(in(f, SMB + 0, 1), 0x00);
}

static void reset_and_save_load(void **state)
{
    struct fixture *f = *state;
    firmware_setup(f);
    out(f, ACPI_PM_APMC_PORT, ACPI_PM_ACPI_ENABLE, 1);
    out(f, PM + ACPI_PM1_EN, ACPI_PM1_PWRBTN | ACPI_PM1_TMR, 2);
    acpi_pm_power_button(&f->pm);
    assert_true(f->sci);
    out(f, PM + 0x20, 0xBEEF, 2);
    advance(f, 12345678);

    uint8_t buf[1024];
    size_t n = device_save(&f->pm.dev, buf, sizeof(buf));
    assert_true(n <= sizeof(buf));
    uint32_t tmr = in(f, PM + ACPI_PM_TMR, 4);

    device_reset(&f->pm.dev);
    assert_false(f->sci);
    assert_int_equal(in(f, PM + ACPI_PM1_EN, 2), 0xFFFF); /* window gone with the config */
    assert_int_equal(vclock_next_deadline(&f->clock), UINT64_MAX);

    assert_int_equal(device_load(&f->pm.dev, buf, n), 0);
    assert_true(f->sci);
    assert_int_equal(in(f, PM + ACPI_PM1_EN, 2), ACPI_PM1_PWRBTN | ACPI_PM1_TMR);
    assert_int_equal(in(f, PM + 0x20, 2), 0xBEEF);
    assert_int_equal(in(f, PM + ACPI_PM_TMR, 4), tmr);
    assert_int_equal(in(f, SMB + 4, 1), 0x00);
    assert_true(vclock_next_deadline(&f->clock) != UINT64_MAX); /* the overflow timer again */

    /* Malformed states are refused and leave the device reset. */
    uint8_t bad[1024];
    memcpy(bad, buf, n);
    bad[6 + ACPI_PM_DEVACTB + 3] = 0; /* clearing a read-only bit */
    assert_int_equal(device_load(&f->pm.dev, bad, n), -1);
    assert_false(f->sci);
    assert_int_equal(device_load(&f->pm.dev, buf, n - 1), -1);
    memcpy(bad, buf, n);
    bad[6 + 256] = 0xFF; /* PM1_STS reserved bits */
    bad[6 + 257] = 0xFF;
    assert_int_equal(device_load(&f->pm.dev, bad, n), -1);
}

/* Whatever the guest writes, wherever: the host is fine (ASan/UBSan watch this). */
static void hostile_guest(void **state)
{
    struct fixture *f = *state;
    uint32_t x = 12345;
    for (int i = 0; i < 200000; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t v = x * 2654435761u;
        unsigned size = 1u << (x >> 30 & 1 ? (x >> 28 & 1) + 1 : 0);
        switch (x >> 24 & 3) {
        case 0: {
            unsigned off = (x >> 8) & 0xFF;
            if (off % size == 0)
                cfg_wr(f, off, v, size);
            break;
        }
        case 1: out(f, (uint16_t)(PM + ((x >> 8) & 0x7F)), v, size); break;
        case 2: out(f, (uint16_t)(SMB + ((x >> 8) & 0x1F)), v, size); break;
        case 3: out(f, (uint16_t)(0xB0 + ((x >> 8) & 7)), v, size); break;
        }
        if (i % 1000 == 0) {
            firmware_setup(f);
            advance(f, 1000000);
        }
        (void)in(f, (uint16_t)(PM + ((x >> 12) & 0x7F)), size);
        (void)in(f, (uint16_t)(SMB + ((x >> 12) & 0x1F)), size);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(identity, setup, teardown),
        cmocka_unit_test_setup_teardown(windows_follow_config, setup, teardown),
        cmocka_unit_test_setup_teardown(window_clash, setup, teardown),
        cmocka_unit_test_setup_teardown(pm_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(timer_overflow_status_and_sci, setup, teardown),
        cmocka_unit_test_setup_teardown(acpi_mode_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(power_button, setup, teardown),
        cmocka_unit_test_setup_teardown(soft_off, setup, teardown),
        cmocka_unit_test_setup_teardown(gpe_and_storage, setup, teardown),
        cmocka_unit_test_setup_teardown(smbus_empty_bus, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_and_save_load, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_guest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
