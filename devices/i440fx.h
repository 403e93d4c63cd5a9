/* Intel 82441FX PMC (the host bridge of the 440FX chipset), as the PC's PCI device 00.0:
 *
 *  - configuration mechanism #1: CONFADD at 0xCF8 (dword accesses only) and CONFDATA at
 *    0xCFC-0xCFF, forwarding to bus 0 (other buses have no devices: all-ones);
 *  - PCI identity 8086:1237 rev 02, subsystem 1AF4:1100 (as QEMU's board, which SeaBIOS
 *    looks for);
 *  - PAM0-PAM6 (0x59-0x5F): shadowing of 0xC0000-0xFFFFF in twelve 16 KiB segments plus the
 *    64 KiB BIOS segment at 0xF0000. Per segment, reads come from RAM (RE=1) or from the
 *    "PCI side" (RE=0), writes go to RAM (WE=1) or are dropped (WE=0). The PCI side is a
 *    256 KiB copy owned here: the machine puts the BIOS (and any ISA option ROM) into it with
 *    i440fx_load_rom(); what it does not cover reads as all-ones, as an empty bus;
 *  - SMRAM (0x72) with the lock semantics of the datasheet, but SMRAM itself is never made
 *    visible: there is no SMM, so 0xA0000-0xBFFFF always belongs to the VGA window.
 *
 * Port 0xCF9 (PIIX3 reset control) is deliberately not claimed: it is the PIIX3's. */
#ifndef BT86_I440FX_H
#define BT86_I440FX_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/ioport.h"
#include "devices/pci.h"
#include "mmu/memmap.h"

#define I440FX_CONFADD_PORT 0xCF8
#define I440FX_CONFDATA_PORT 0xCFC

#define I440FX_PAM0 0x59 /* PAM0..PAM6 at 0x59..0x5F */
#define I440FX_SMRAM 0x72

#define I440FX_PAM_RE 0x1 /* per nibble */
#define I440FX_PAM_WE 0x2

#define I440FX_SMRAM_D_OPEN 0x40
#define I440FX_SMRAM_D_CLS 0x20
#define I440FX_SMRAM_D_LCK 0x10
#define I440FX_SMRAM_G_SMRAME 0x08

/* The shadowed area and its segments (13: 0xC0000 + 16 KiB * i for i < 12, then 0xF0000). */
#define I440FX_SHADOW_BASE 0xC0000u
#define I440FX_SHADOW_SIZE 0x40000u
#define I440FX_PAM_SEGMENTS 13

struct i440fx {
    struct device dev;
    struct pci_function fn; /* devfn 0 */
    struct pci_bus *bus;
    struct memmap *mem;
    uint8_t *rom;     /* PCI side of 0xC0000-0xFFFFF (I440FX_SHADOW_SIZE bytes, page aligned) */
    uint32_t confadd; /* as the guest wrote it, reserved bits cleared */
    uint8_t seg_attr[I440FX_PAM_SEGMENTS]; /* RE/WE of each segment as currently mapped */
};

/* Needs RAM covering the first megabyte. Adds the bridge at devfn 0 of `bus`, claims ports
 * 0xCF8 and 0xCFC-0xCFF, maps the shadow area to the (all-ones) PCI side. Returns 0, or -1
 * (allocation, port or devfn conflict, too little RAM). */
int i440fx_attach(struct i440fx *h, struct ioport_bus *io, struct pci_bus *bus, struct memmap *mem);
/* Frees the PCI-side copy; the memmap must not be used for 0xC0000-0xFFFFF afterwards. */
void i440fx_destroy(struct i440fx *h);

/* Copies `len` bytes to the PCI side at guest-physical `base` (the range must lie within
 * 0xC0000-0xFFFFF). For the BIOS: its last 128 KiB (or all of a smaller image) at
 * 0x100000 - size, as the chipset aliases the top of the flash there. Returns 0 or -1. */
int i440fx_load_rom(struct i440fx *h, uint32_t base, const void *data, uint32_t len);

/* Guest-physical range of PAM segment `seg` (0..12). */
void i440fx_segment(unsigned seg, uint32_t *base, uint32_t *size);

#endif
