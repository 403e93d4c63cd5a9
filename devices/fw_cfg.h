/* QEMU's firmware configuration device (fw_cfg), as SeaBIOS reads it on x86:
 *
 *  - selector port 0x510 (16-bit writes), data port 0x511 (byte-wide: a wider read returns
 *    consecutive bytes, string order). Bit 15 of a key selects the architecture-specific
 *    space; bit 14 (the old write flag) is ignored. Reads past an item's end return 0;
 *    writes to the data port are ignored, as in QEMU since 2.4;
 *  - DMA address register at 0x514-0x51B, big-endian: a 32-bit write at 0x514 sets the high
 *    half, one at 0x518 the low half and starts the transfer. Reads return "QEMU CFG";
 *  - items by key, and named files (keys from 0x20 up) listed by the file directory (key
 *    0x19): big-endian count, then 64-byte entries {be32 size, be16 key, u16 0, name[56]}.
 *
 * Item contents are the machine's configuration, copied in; only DMA writes to items added
 * as writable change them, and those contents are part of the saved state. DMA reaches guest
 * memory only through memmap_copy_to/from and only within guest RAM (DESIGN decision 10). */
#ifndef BT86_FW_CFG_H
#define BT86_FW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/ioport.h"
#include "mmu/memmap.h"

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA 0x514 /* 8 bytes */

/* Standard keys (QEMU's numbering). */
enum {
    FW_CFG_SIGNATURE = 0x00,
    FW_CFG_ID = 0x01,
    FW_CFG_UUID = 0x02,
    FW_CFG_RAM_SIZE = 0x03,
    FW_CFG_NOGRAPHIC = 0x04,
    FW_CFG_NB_CPUS = 0x05,
    FW_CFG_MACHINE_ID = 0x06,
    FW_CFG_KERNEL_ADDR = 0x07,
    FW_CFG_KERNEL_SIZE = 0x08,
    FW_CFG_KERNEL_CMDLINE = 0x09,
    FW_CFG_INITRD_ADDR = 0x0A,
    FW_CFG_INITRD_SIZE = 0x0B,
    FW_CFG_BOOT_DEVICE = 0x0C,
    FW_CFG_NUMA = 0x0D,
    FW_CFG_BOOT_MENU = 0x0E,
    FW_CFG_MAX_CPUS = 0x0F,
    FW_CFG_KERNEL_ENTRY = 0x10,
    FW_CFG_KERNEL_DATA = 0x11,
    FW_CFG_INITRD_DATA = 0x12,
    FW_CFG_CMDLINE_ADDR = 0x13,
    FW_CFG_CMDLINE_SIZE = 0x14,
    FW_CFG_CMDLINE_DATA = 0x15,
    FW_CFG_SETUP_ADDR = 0x16,
    FW_CFG_SETUP_SIZE = 0x17,
    FW_CFG_SETUP_DATA = 0x18,
    FW_CFG_FILE_DIR = 0x19,
    FW_CFG_FILE_FIRST = 0x20,
    FW_CFG_ARCH_LOCAL = 0x8000,
    FW_CFG_ACPI_TABLES = 0x8000,
    FW_CFG_SMBIOS_ENTRIES = 0x8001,
    FW_CFG_IRQ0_OVERRIDE = 0x8002,
    FW_CFG_E820_TABLE = 0x8003,
    FW_CFG_HPET = 0x8004,
};

#define FW_CFG_KEY_WRITE_FLAG 0x4000u

#define FW_CFG_ID_TRADITIONAL 0x1u
#define FW_CFG_ID_DMA 0x2u

/* FWCfgDmaAccess.control bits */
#define FW_CFG_DMA_ERROR 0x01u
#define FW_CFG_DMA_READ 0x02u
#define FW_CFG_DMA_SKIP 0x04u
#define FW_CFG_DMA_SELECT 0x08u
#define FW_CFG_DMA_WRITE 0x10u
#define FW_CFG_DMA_SIGNATURE "QEMU CFG"

#define FW_CFG_MAX_ITEMS 128
#define FW_CFG_MAX_FILES 64
#define FW_CFG_NAME_LEN 56 /* including the NUL */
#define FW_CFG_DIR_ENTRY_SIZE 64

/* One entry of the "etc/e820" file: little-endian, packed to 20 bytes in the file. */
struct fw_cfg_e820 {
    uint64_t address;
    uint64_t length;
    uint32_t type; /* 1 RAM, 2 reserved, ... */
};

struct fw_cfg_item {
    uint16_t key;
    bool writable;   /* by guest DMA writes */
    uint32_t len;
    uint8_t *data;   /* owned; NULL when len is 0 */
    char name[FW_CFG_NAME_LEN]; /* files only, else "" */
};

struct fw_cfg {
    struct device dev;
    struct memmap *mem;
    bool dma_enabled;
    struct fw_cfg_item items[FW_CFG_MAX_ITEMS];
    unsigned nitems;
    unsigned nfiles;

    /* guest-visible state */
    uint16_t selector;   /* as written, write flag included */
    int cur;             /* index into items of the selected item, -1 = none */
    uint32_t offset;     /* next byte of the selected item, never past its end */
    uint64_t dma_addr;   /* DMA address register: the high half may be set ahead */
};

/* Claims ports 0x510-0x511 and, with dma, 0x514-0x51B; adds the signature, the id (with the
 * DMA bit when dma), and an empty file directory. Returns 0 or -1. */
int fw_cfg_attach(struct fw_cfg *fw, struct ioport_bus *io, struct memmap *mem, bool dma);
void fw_cfg_destroy(struct fw_cfg *fw);

/* Add or replace the item under `key` (< 0x20, or 0x8000 and up below 0xC000); data is
 * copied. Returns 0 or -1 (bad key, table full, no memory). */
int fw_cfg_add_bytes(struct fw_cfg *fw, uint16_t key, const void *data, uint32_t len);
int fw_cfg_add_i16(struct fw_cfg *fw, uint16_t key, uint16_t v); /* little-endian */
int fw_cfg_add_i32(struct fw_cfg *fw, uint16_t key, uint32_t v);
int fw_cfg_add_i64(struct fw_cfg *fw, uint16_t key, uint64_t v);
int fw_cfg_add_string(struct fw_cfg *fw, uint16_t key, const char *s); /* with its NUL */

/* Add or replace a named file (name: 1..55 characters). A new file gets the next free key
 * from 0x20; a replaced one keeps its key. Returns the key, or -1. */
int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, uint32_t len);
/* Same, but guest DMA writes may change the contents (size fixed), as "etc/..." files
 * that firmware fills in for the host. */
int fw_cfg_add_file_writable(struct fw_cfg *fw, const char *name, const void *data, uint32_t len);
/* The item (file or not) under key, or NULL. */
const struct fw_cfg_item *fw_cfg_find(const struct fw_cfg *fw, uint16_t key);
const struct fw_cfg_item *fw_cfg_find_file(const struct fw_cfg *fw, const char *name);

/* The standard items a PC machine adds. */
int fw_cfg_set_ram_size(struct fw_cfg *fw, uint64_t bytes);           /* key 0x03, u64 */
/* NB_CPUS (0x05) and MAX_CPUS (0x0F), u16 each, and the file "etc/boot-cpus". */
int fw_cfg_set_cpus(struct fw_cfg *fw, uint16_t boot_cpus, uint16_t max_cpus);
/* BOOT_MENU (0x0E) u16 show flag, and "etc/boot-menu-wait" u16 milliseconds. */
int fw_cfg_set_boot_menu(struct fw_cfg *fw, bool show, uint16_t wait_ms);
/* "etc/e820": the memory map, both RAM and reserved ranges. */
int fw_cfg_set_e820(struct fw_cfg *fw, const struct fw_cfg_e820 *e, unsigned n);
/* "bootorder": newline-separated device paths; stored with its NUL, as QEMU does. */
int fw_cfg_set_bootorder(struct fw_cfg *fw, const char *paths);

#endif
