/* The PC board: i440FX host bridge, PIIX3 (ISA bridge, IDE), dual 8259, 8254 + port 0x61,
 * MC146818 RTC/CMOS, 8042 with PS/2 keyboard and mouse, 8237 DMA, floppy controller, stdvga,
 * fw_cfg, around the machine's CPU, RAM, COM1, debug console and test ports (machine.h).
 * SeaBIOS runs on it as on QEMU's "pc" machine.
 *
 * Interrupts, as on an i686 board with APIC: every ISA IRQ n goes to 8259 input n and to I/O
 * APIC pin n, except IRQ 0 (the PIT), which reaches pin 2 (SeaBIOS's MP table and MADT say so
 * when fw_cfg's irq0-override is set, as here). PCI INTx pins are swizzled by slot onto PIRQA-D
 * (piix3_pirq_of); the PIIX3 steers each PIRQ to the ISA IRQ its register 0x60-0x63 names
 * (so to the 8259 and the I/O APIC pin of that IRQ, which is what SeaBIOS's MP table describes
 * for PCI devices), and PIRQA-D also reach I/O APIC pins 16-19 directly. The 8259's INTR goes
 * to the local APIC's LINT0 (ExtINT in virtual-wire mode), nothing drives LINT1 (NMI) yet, and
 * the local APIC drives the CPU's INTR and answers its interrupt acknowledge.
 *
 * Time: the virtual clock advances 1 ns per executed instruction, and HLT with interrupts
 * enabled jumps it to the next timer deadline, so runs are reproducible. The realtime clock
 * (machine.h) holds that back to host time for the window. */
#ifndef BT86_PC_H
#define BT86_PC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "devices/acpi_pm.h"
#include "devices/block.h"
#include "devices/clock.h"
#include "devices/fdc.h"
#include "devices/fw_cfg.h"
#include "devices/i440fx.h"
#include "devices/i8042.h"
#include "devices/i8237.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/ide.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/mc146818.h"
#include "devices/pci.h"
#include "devices/piix3.h"
#include "devices/ps2.h"
#include "devices/uart16550.h"
#include "devices/vga.h"

#define PC_VGA_DEVFN 0x10
#define PC_NS_PER_INSN 1u
/* The local APIC timer's input: the 100 MHz front-side bus of a late Pentium II. */
#define PC_APIC_BUS_HZ 100000000u
#define PC_IOAPIC_ID 0 /* SeaBIOS's BUILD_IOAPIC_ID: its MP table and MADT name this ID */
#define PC_IOAPIC_PIRQ_PIN 16 /* PIRQA-D reach I/O APIC pins 16-19 */
#define COM2_BASE 0x2F8
#define COM2_IRQ 3

struct machine;

struct pc_config {
    const char *bios_path;   /* SeaBIOS image */
    const char *vgabios_path; /* option ROM for the VGA, NULL: none */
    const char *fda, *hda, *cdrom;
    bool media_read_only;    /* open -fda/-hda read-only (the CD always is) */
    const char *boot_order;  /* up to 3 of a (floppy), c (disk), d (CD); NULL: QEMU's "cad" */
    bool boot_menu;
    struct tm rtc_start;     /* the RTC's time at power-on */
    FILE *com2_out;          /* COM2 output (NULL: discarded) */
};

struct pc {
    struct vclock clock;
    struct pci_bus pci;
    struct i440fx host;
    struct piix3 isa;
    struct i8259 pic;
    struct i8254 pit;
    struct mc146818 rtc;
    struct ps2_kbd kbd;
    struct ps2_mouse mouse;
    struct i8042 kbc;
    struct i8237 dma;
    struct fdc fdc;
    struct ide_ctrl ide;
    struct vga vga;
    struct fw_cfg fw;
    struct acpi_pm pm;          /* PIIX4 power management at 00:01.3: ACPI */
    struct lapic lapic;
    struct ioapic ioapic;
    struct uart16550 com2;
    struct block_dev fda;
    struct block_dev hda, cdrom;
    bool fda_open, hda_open, cdrom_open;
    bool have_host, have_rtc, have_vga, have_fw;
    uint32_t bios_len;          /* firmware bytes mapped below 4 GiB */
    enum fdc_drive_type fd_type; /* drive A:, FDC_DRIVE_NONE without -fda */

    bool a20_92, a20_kbc;       /* the two A20 gates, ORed */
    int vga_bar2_mmio;          /* memmap MMIO index of BAR2 */
    uint32_t vga_lfb_at, vga_mmio_at, vga_rom_at; /* what is mapped now (0: nothing) */

    /* Interrupt wiring (wires, not device state: resets leave them to their drivers). */
    uint16_t isa_lines;         /* ISA IRQs asserted by ISA devices */
    uint16_t irq_out;           /* each ISA IRQ's level as last driven (ISA OR steered PIRQs) */
    uint32_t intx[4][8];        /* per PIRQ, a bit per devfn whose INTx pin on it is asserted */
    int8_t pirq_irq[4];         /* the ISA IRQ each PIRQ is steered to, -1 none */
};

/* Builds the board into m (whose RAM, CPU, port bus and basic devices exist). On failure -1
 * with a message; the caller then destroys the machine (pc_destroy copes with a partial pc). */
int pc_create(struct machine *m, const struct pc_config *cfg, char *err, size_t errlen);
void pc_destroy(struct machine *m);
/* After every machine reset: redo what follows from device state (mappings, A20). */
void pc_after_reset(struct machine *m);
/* INIT (port 0x92, 0xCF9 soft reset): the CPU and its local APIC restart, the board keeps on. */
void pc_cpu_init(struct machine *m);
/* CMOS says the next reset is a deliberate return to real mode through the BIOS (shutdown
 * codes 5, 0xA-0xC), as 286-era software leaves protected mode: not a reboot. */
bool pc_reset_is_resume(struct machine *m);

/* Interrupt lines for devices: ISA IRQ `irq` (0-15), and the INTx pin of the PCI function at
 * `devfn` (the pin its configuration space's interrupt-pin register names). */
struct irq_line pc_isa_irq_line(struct pc *pc, unsigned irq);
struct irq_line pc_pci_irq_line(struct pc *pc, uint8_t devfn);

#endif
