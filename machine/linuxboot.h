/* Linux x86 boot protocol (Documentation/arch/x86/boot.rst) for -kernel on the PC: the bzImage's
 * setup header is validated, a memory layout is planned, and the pieces (real-mode setup with
 * the loader's fields filled in, protected-mode kernel, initrd, command line) are handed to
 * firmware through fw_cfg, as QEMU does. bt86's option ROM (roms/linuxboot.asm), run by SeaBIOS
 * as the first boot device, copies them into RAM with fw_cfg DMA and enters the real-mode setup
 * code, so the kernel gets its e820 map and BIOS tables from SeaBIOS.
 *
 * Layout: setup at 0x10000 (its heap and stack fill that 64 KiB segment), command line at
 * 0x20000, kernel at 1 MiB, initrd as high as initrd_addr_max and RAM allow, clear of the top
 * 1 MiB that SeaBIOS keeps for its tables. */
#ifndef BT86_LINUXBOOT_H
#define BT86_LINUXBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/fw_cfg.h"

#define LINUX_SETUP_ADDR 0x10000u
#define LINUX_CMDLINE_ADDR 0x20000u
#define LINUX_KERNEL_ADDR 0x100000u
#define LINUX_HEAP_END_PTR 0xFE00u   /* heap end 0x10000 past the setup: the whole segment */
#define LINUX_SETUP_MAX 0xC000u      /* leaves the setup code 16 KiB of heap and stack */
#define LINUX_CMDLINE_MAX 0xFFFFu    /* with the NUL, within 0x20000-0x2FFFF */
#define LINUX_TOP_RESERVE 0x100000u  /* top of RAM left to the firmware's tables */
#define LINUX_LOADER_TYPE 0xFFu      /* boot.rst: "undefined" loader (bt86 has no id) */

/* Setup header offsets from the start of the image (boot.rst). */
enum {
    LH_SETUP_SECTS = 0x1F1,
    LH_SYSSIZE = 0x1F4,
    LH_BOOT_FLAG = 0x1FE,
    LH_HEADER = 0x202,
    LH_VERSION = 0x206,
    LH_TYPE_OF_LOADER = 0x210,
    LH_LOADFLAGS = 0x211,
    LH_CODE32_START = 0x214,
    LH_RAMDISK_IMAGE = 0x218,
    LH_RAMDISK_SIZE = 0x21C,
    LH_HEAP_END_PTR = 0x224,
    LH_CMD_LINE_PTR = 0x228,
    LH_INITRD_ADDR_MAX = 0x22C,
    LH_KERNEL_ALIGNMENT = 0x230,
    LH_RELOCATABLE = 0x234,
    LH_CMDLINE_SIZE = 0x238,
    LH_PREF_ADDRESS = 0x258,
    LH_INIT_SIZE = 0x260,
    LH_END = 0x26C, /* through kernel_info_offset (2.15) */
};

#define LINUX_LF_LOADED_HIGH 0x01u
#define LINUX_LF_CAN_USE_HEAP 0x80u

struct linux_image {
    uint16_t version;         /* protocol, major << 8 | minor */
    uint8_t loadflags;
    uint32_t setup_len;       /* real-mode part: (setup_sects + 1) * 512 bytes */
    uint32_t kernel_len;      /* protected-mode part: the rest of the file */
    uint32_t initrd_addr_max; /* highest address the initrd's last byte may have */
    uint32_t cmdline_size;    /* longest command line, without its NUL */
    uint32_t pref_address;    /* where a relocatable kernel prefers to run (0: not given) */
    uint32_t init_size;       /* memory it needs from there while decompressing (0: not given) */
    bool relocatable;
};

struct linux_layout {
    uint32_t setup_addr, kernel_addr, cmdline_addr;
    uint32_t cmdline_len;     /* with its NUL */
    uint32_t initrd_addr, initrd_len; /* 0, 0: no initrd */
    uint32_t kernel_end;      /* end of everything the kernel occupies while starting */
};

/* Whether the image carries a Linux setup header ("HdrS"): decides which loader -kernel uses. */
bool linux_is_bzimage(const uint8_t *img, size_t len);

/* Checks the setup header. Returns 0, or -1 with a message saying what is wrong. */
int linux_parse(const uint8_t *img, size_t len, struct linux_image *li, char *err, size_t errlen);

/* Places setup, command line, kernel and an initrd of initrd_len bytes (0: none) in ram_bytes
 * of RAM. Returns 0, or -1 with a message (does not fit, command line too long, ...). */
int linux_plan(const struct linux_image *li, uint64_t ram_bytes, size_t initrd_len,
               size_t cmdline_len, struct linux_layout *lo, char *err, size_t errlen);

/* Fills the loader's fields (type_of_loader, loadflags, heap_end_ptr, cmd_line_ptr, ramdisk)
 * into setup, a copy of the image's first li->setup_len bytes. */
void linux_patch_setup(uint8_t *setup, const struct linux_image *li, const struct linux_layout *lo);

/* Whether rom is an option ROM bt86 can hand to SeaBIOS (signature, size byte matching its
 * length, a PnP header with a boot entry vector); if so, fixes its PnP and ROM checksums. */
int linux_prepare_rom(uint8_t *rom, size_t len, char *err, size_t errlen);

/* The whole -kernel job for the PC: parses img, plans, and adds to fw_cfg the setup, kernel,
 * command line and initrd items, the option ROM as "genroms/linuxboot.bin" and a boot order
 * that puts it first. Returns 0, or -1 with a message. */
int linux_setup_fw_cfg(struct fw_cfg *fw, uint64_t ram_bytes, const uint8_t *img, size_t len,
                       const uint8_t *initrd, size_t initrd_len, const char *cmdline,
                       uint8_t *rom, size_t rom_len, char *err, size_t errlen);

struct machine;
struct machine_config;
/* linux_setup_fw_cfg for the PC being built, from the files the configuration names
 * (kernel_path, initrd_path, append, linuxboot_rom). Returns 0, or -1 with a message. */
int linux_load(struct machine *m, const struct machine_config *cfg, char *err, size_t errlen);

#endif
