/* Intel 82371AB PIIX4 function 3: power management (ACPI fixed hardware) and SMBus host,
 * PCI 8086:7113 revision 3 (PIIX4M: the revision whose PM timer reads need no workaround),
 * beside the PIIX3 as on QEMU's "pc" board. What the guest sees:
 *
 *  - PMBA (config 0x40, bits 15:6, bit 0 reads 1): 64 bytes of I/O, decoded while PMREGMISC
 *    (0x80) bit 0 is set. The ACPI registers in it:
 *      +0x00 PM1_STS (write 1 to clear): TMR 0, BM 4, GBL 5, PWRBTN 8, RTC 10, WAK 15
 *      +0x02 PM1_EN: TMR_EN 0, GBL_EN 5, PWRBTN_EN 8, RTC_EN 10
 *      +0x04 PM1_CNT: SCI_EN 0, BM_RLD 1, GBL_RLS 2 (write-only), SLP_TYP 12:10,
 *            SLP_EN 13 (write-only). SLP_EN with SLP_TYP 0 is soft-off (S5): the power_off
 *            callback. Other sleep types are not supported and ignored.
 *      +0x08 PM_TMR: 24-bit count at 3.579545 MHz of the virtual clock, read-only. TMR_STS is
 *            set each time bit 23 changes.
 *      +0x0C GPE0_STS (write 1 to clear), +0x0E GPE0_EN: 16 bits each, no sources wired.
 *      +0x10..0x3F processor, global and device control registers: kept as storage
 *            (P_LVL2/P_LVL3 and GPIREG read 0).
 *  - SCI: a level output, asserted while SCI_EN is set and an enabled status bit is set.
 *  - APM ports 0xB2 (APMC) and 0xB3 (APMS). bt86 has no SMM, so the ACPI mode handshake an
 *    SMI handler would do happens here: writing ACPI_PM_ACPI_ENABLE to 0xB2 sets SCI_EN,
 *    ACPI_PM_ACPI_DISABLE clears it. DEVACTB (0x58) bit 25, "SMI on APMC write", reads 1 and
 *    cannot be cleared: firmware that sets up SMM (SeaBIOS) sees it done and skips the SMI it
 *    would otherwise wait for forever.
 *  - SMBus host controller at SMBBA (0x90, bits 15:4), 16 bytes, decoded while SMBHSTCFG (0xD2)
 *    bit 0 and the command register's I/O enable are set. Nothing is on the bus: every
 *    transaction ends at once with DEV_ERR. It raises no interrupt.
 *
 * Accesses of any width at any offset work byte by byte, as the chip decodes them; nothing the
 * guest writes can make the device touch anything outside itself. */
#ifndef BT86_ACPI_PM_H
#define BT86_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/clock.h"
#include "devices/device.h"
#include "devices/ioport.h"
#include "devices/pci.h"

#define ACPI_PM_DEVFN 0x0B /* 00:01.3 */
#define ACPI_PM_PMBA 0x40
#define ACPI_PM_DEVACTB 0x58
#define ACPI_PM_PMREGMISC 0x80
#define ACPI_PM_SMBBA 0x90
#define ACPI_PM_SMBHSTCFG 0xD2

#define ACPI_PM_IO_SIZE 64
#define ACPI_PM_SMB_SIZE 16
#define ACPI_PM_APMC_PORT 0xB2
#define ACPI_PM_APMS_PORT 0xB3
#define ACPI_PM_ACPI_ENABLE 0xF1
#define ACPI_PM_ACPI_DISABLE 0xF0

/* Offsets in the PMBA window. */
#define ACPI_PM1_STS 0x00
#define ACPI_PM1_EN 0x02
#define ACPI_PM1_CNT 0x04
#define ACPI_PM_TMR 0x08
#define ACPI_GPE0_STS 0x0C
#define ACPI_GPE0_EN 0x0E

#define ACPI_PM1_TMR 0x0001
#define ACPI_PM1_BM 0x0010
#define ACPI_PM1_GBL 0x0020
#define ACPI_PM1_PWRBTN 0x0100
#define ACPI_PM1_RTC 0x0400
#define ACPI_PM1_WAK 0x8000
#define ACPI_PM1_STS_MASK 0x8531
#define ACPI_PM1_EN_MASK 0x0521

#define ACPI_PM1_SCI_EN 0x0001
#define ACPI_PM1_BM_RLD 0x0002
#define ACPI_PM1_GBL_RLS 0x0004
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP 0x1C00
#define ACPI_PM1_SLP_EN 0x2000
#define ACPI_PM1_SLP_TYP_S5 0 /* PIIX4's soft-off encoding, what \_S5 names */

#define ACPI_PM_TIMER_HZ 3579545u

struct acpi_pm_callbacks {
    /* The guest entered S5. Called from inside the port write. */
    void (*power_off)(void *opaque);
    void *opaque;
};

struct acpi_pm {
    struct device dev;
    struct pci_function fn;
    struct ioport_bus *io;
    struct vclock *clock;
    struct vtimer timer; /* armed for the next TMR_STS edge only while it can raise the SCI */
    struct irq_line sci;
    struct acpi_pm_callbacks cb;

    uint16_t pm_at, smb_at;   /* I/O windows registered now, 0 = none */
    bool pm_clash, smb_clash; /* the guest put a window over other ports: left unmapped */
    bool sci_level;

    /* guest-visible state */
    uint16_t pm1_sts, pm1_en, pm1_cnt;
    uint64_t tmr_period;      /* PM timer count >> 23 when TMR_STS was last brought up to date */
    uint16_t gpe_sts, gpe_en;
    uint8_t misc[ACPI_PM_IO_SIZE - 0x10]; /* PMBA + 0x10 .. 0x3F */
    uint8_t apmc, apms;
    uint8_t smb[ACPI_PM_SMB_SIZE];
};

/* Adds the function at devfn 0x0B and claims ports 0xB2-0xB3; the PM and SMBus windows appear
 * where the guest programs them. `sci` may be left unwired. Returns 0, or -1 on a clash. */
int acpi_pm_attach(struct acpi_pm *pm, struct ioport_bus *io, struct pci_bus *bus,
                   struct vclock *clock, const struct acpi_pm_callbacks *cb);
void acpi_pm_detach(struct acpi_pm *pm);

/* The power button was pressed: PWRBTN_STS, and the SCI if the guest enabled it. */
void acpi_pm_power_button(struct acpi_pm *pm);

/* The PM timer's count (24 bits) at virtual time `ns`. */
uint32_t acpi_pm_timer_at(uint64_t ns);

#endif
