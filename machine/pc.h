/* The PC board: i440FX host bridge, PIIX3 (ISA bridge, IDE), dual 8259, 8254 + port 0x61,
 * MC146818 RTC/CMOS, 8042 with PS/2 keyboard and mouse, 8237 DMA, floppy controller, stdvga,
 * fw_cfg, around the machine's CPU, RAM, COM1, debug console and test ports (machine.h).
 * SeaBIOS runs on it as on QEMU's "pc" machine (APIC left out: CPUID does not announce one).
 *
 * Time: the virtual clock advances 1 ns per executed instruction, and HLT with interrupts
 * enabled jumps it to the next timer deadline, so runs are reproducible. The realtime clock
 * (machine.h) holds that back to host time for the window. */
#ifndef BT86_PC_H
#define BT86_PC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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
#include "devices/mc146818.h"
#include "devices/pci.h"
#include "devices/piix3.h"
#include "devices/ps2.h"
#include "devices/vga.h"

#define PC_VGA_DEVFN 0x10
#define PC_NS_PER_INSN 1u

struct machine;

struct pc_config {
    const char *bios_path;   /* SeaBIOS image */
    const char *vgabios_path; /* option ROM for the VGA, NULL: none */
    const char *fda, *hda, *cdrom;
    bool media_read_only;    /* open -fda/-hda read-only (the CD always is) */
    const char *boot_order;  /* up to 3 of a (floppy), c (disk), d (CD); NULL: QEMU's "cad" */
    bool boot_menu;
    struct tm rtc_start;     /* the RTC's time at power-on */
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
    struct block_dev fda;
    struct block_dev hda, cdrom;
    bool fda_open, hda_open, cdrom_open;
    bool have_host, have_rtc, have_vga, have_fw;
    uint32_t bios_len;          /* firmware bytes mapped below 4 GiB */
    enum fdc_drive_type fd_type; /* drive A:, FDC_DRIVE_NONE without -fda */

    bool a20_92, a20_kbc;       /* the two A20 gates, ORed */
    int vga_bar2_mmio;          /* memmap MMIO index of BAR2 */
    uint32_t vga_lfb_at, vga_mmio_at, vga_rom_at; /* what is mapped now (0: nothing) */
};

/* Builds the board into m (whose RAM, CPU, port bus and basic devices exist). On failure -1
 * with a message; the caller then destroys the machine (pc_destroy copes with a partial pc). */
int pc_create(struct machine *m, const struct pc_config *cfg, char *err, size_t errlen);
void pc_destroy(struct machine *m);
/* After every machine reset: redo what follows from device state (mappings, A20). */
void pc_after_reset(struct machine *m);

#endif
