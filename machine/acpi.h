/* The PC's ACPI tables, built by bt86 as a hypervisor does and handed to the firmware through
 * fw_cfg with the BIOS linker/loader protocol SeaBIOS implements (src/fw/romfile_loader.c):
 *
 *  - "etc/acpi/tables": FACS, DSDT, FADT, MADT (when the board has APICs) and RSDT, laid out
 *    as if placed at address 0: every pointer holds the target's offset in the blob;
 *  - "etc/acpi/rsdp": the RSDP (revision 0), pointing at the RSDT the same way;
 *  - "etc/table-loader": 128-byte commands. ALLOCATE copies a file into guest memory (the
 *    tables high in RAM with 64-byte alignment for the FACS, the RSDP in the F segment where
 *    the OS scans for it); ADD_POINTER adds a file's load address to a field; ADD_CHECKSUM
 *    recomputes a table's checksum after its pointers moved.
 *
 * SeaBIOS, seeing "etc/table-loader", puts the PIIX4 PM block at I/O 0x600 (and SMBus at
 * 0x700) and builds no tables of its own; these tables describe exactly that.
 *
 * The DSDT (hand-generated AML, machine/aml.h) has \_S5 (soft-off, SLP_TYP 0 on the PIIX4),
 * \_PIC, \_SB.CPU0, \_SB.PCI0 (PNP0A03) with its bus, I/O and memory windows, the ISA bridge
 * with the keyboard, mouse, floppy, COM1 and RTC, and PCI interrupt routing: _PRT maps each
 * slot's INTA-D (rotated by slot, as the PIIX3 wires them) to the link devices LNKA-LNKD
 * (PNP0C0F), whose _CRS/_SRS/_DIS/_STA read and write the PIIX3's PIRQ route registers
 * (PCI config 0x60-0x63 of 00:01.0). */
#ifndef BT86_ACPI_H
#define BT86_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/fw_cfg.h"

#define ACPI_FILE_TABLES "etc/acpi/tables"
#define ACPI_FILE_RSDP "etc/acpi/rsdp"
#define ACPI_FILE_LOADER "etc/table-loader"

/* The linker/loader command format. */
#define ACPI_LOADER_ENTRY_SIZE 128
#define ACPI_LOADER_FILESZ 56
enum {
    ACPI_LOADER_ALLOCATE = 1,
    ACPI_LOADER_ADD_POINTER = 2,
    ACPI_LOADER_ADD_CHECKSUM = 3,
};
enum {
    ACPI_LOADER_ZONE_HIGH = 1,
    ACPI_LOADER_ZONE_FSEG = 2,
};

/* How PCI INTx reach the I/O APIC once the OS switches to APIC mode (\_PIC(1)). */
enum acpi_apic_pci_routing {
    /* Through the PIIX3's PIRQ routing: a PIRQ steered to ISA IRQ n drives I/O APIC pin n, as
     * SeaBIOS's MP table also describes. The link devices serve both modes. */
    ACPI_APIC_PCI_VIA_ISA,
    /* PIRQA-D wired to I/O APIC pins 16-19 (level, active low), QEMU's layout. */
    ACPI_APIC_PCI_GSI16,
};

struct acpi_config {
    uint32_t pci_hole_start;  /* PCI memory window: from here (the top of low RAM) ... */
    uint32_t pci_hole_end;    /* ... to here, inclusive (below the I/O APIC) */
    uint16_t pm_base;         /* PIIX4 PMBA as the firmware programs it */
    uint8_t sci_irq;
    bool apic;                /* a local APIC and an I/O APIC: emit the MADT */
    uint8_t ioapic_id;
    uint32_t ioapic_addr, lapic_addr;
    enum acpi_apic_pci_routing apic_pci;
};

/* What a PC with SeaBIOS gets: PM at 0x600, SCI on IRQ 9, window above `ram_below_4g`. */
void acpi_default_config(struct acpi_config *cfg, uint32_t ram_below_4g);

struct acpi_blobs {
    uint8_t *tables, *rsdp, *loader;
    uint32_t tables_len, rsdp_len, loader_len;
    /* Where each table starts in `tables` (for tests and diagnostics). */
    uint32_t facs_off, dsdt_off, fadt_off, madt_off, rsdt_off; /* madt_off 0: none */
};

/* Builds the three files. Returns 0, or -1 (out of memory, an internal AML error). */
int acpi_build(const struct acpi_config *cfg, struct acpi_blobs *out);
void acpi_blobs_free(struct acpi_blobs *b);

/* Builds and adds the files to fw_cfg. Returns 0 or -1. */
int acpi_install(struct fw_cfg *fw, const struct acpi_config *cfg);

/* The 8-bit sum of n bytes (a valid table sums to 0). */
uint8_t acpi_checksum(const uint8_t *p, size_t n);

#endif
