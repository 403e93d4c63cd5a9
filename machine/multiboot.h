/* Multiboot (version 0.6.96) kernel loading for -kernel: ELF32 images, or any image whose
 * header sets the a.out kludge (flag 16). The image is validated in full before anything
 * touches guest memory; every error names what is wrong. */
#ifndef BT86_MULTIBOOT_H
#define BT86_MULTIBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "mmu/memmap.h"

#define MB_HEADER_MAGIC 0x1BADB002u
#define MB_BOOT_MAGIC 0x2BADB002u /* EAX on entry */
#define MB_SEARCH_LIMIT 8192      /* the header lies entirely within the image's first 8 KiB */
#define MB_MAX_SEGMENTS 32

/* Header flags */
#define MB_HF_PAGE_ALIGN 0x00000001u
#define MB_HF_MEMINFO 0x00000002u
#define MB_HF_VIDEO 0x00000004u
#define MB_HF_AOUT_KLUDGE 0x00010000u
#define MB_HF_REQUIRED_MASK 0x0000FFFFu /* a loader must refuse required bits it lacks */

/* Info flags */
#define MB_INFO_MEM 0x001u
#define MB_INFO_CMDLINE 0x004u
#define MB_INFO_MMAP 0x040u
#define MB_INFO_LOADER_NAME 0x200u

/* Memory-map entry types */
#define MB_MEM_AVAILABLE 1u
#define MB_MEM_RESERVED 2u

/* Offsets in the information structure that bt86 fills */
enum {
    MBI_FLAGS = 0,
    MBI_MEM_LOWER = 4,
    MBI_MEM_UPPER = 8,
    MBI_CMDLINE = 16,
    MBI_MMAP_LENGTH = 44,
    MBI_MMAP_ADDR = 48,
    MBI_LOADER_NAME = 64,
    MBI_SIZE = 88, /* up to and including the VBE fields */
};

#define MB_MAX_CMDLINE 65535 /* -append longer than this is refused */

struct mb_segment {
    uint32_t paddr;
    uint32_t memsz;  /* bytes past filesz are zeroed (BSS) */
    uint32_t filesz;
    uint32_t offset; /* in the image */
};

struct mb_image {
    uint32_t header_offset;
    uint32_t header_flags;
    bool aout_kludge;
    bool wants_video; /* flag 2: bt86 has no video mode to offer; the kernel gets none */
    uint32_t entry;   /* physical */
    unsigned nseg;
    struct mb_segment seg[MB_MAX_SEGMENTS];
};

struct mb_range {
    uint64_t base, len;
    uint32_t type;
};
#define MB_MAX_RANGES 4

/* The physical memory map a guest with ram_bytes of RAM sees: base memory to 0x9FC00, the
 * EBDA and BIOS areas reserved, extended memory from 1 MiB. Returns the number of ranges. */
unsigned multiboot_memory_map(uint64_t ram_bytes, struct mb_range out[MB_MAX_RANGES]);

/* Checks the header and the executable, and records where everything goes. Every loaded byte
 * must fall in RAM the memory map reports as available. Returns 0, or -1 with a message. */
int multiboot_parse(const uint8_t *img, size_t len, uint64_t ram_bytes, struct mb_image *mb,
                    char *err, size_t errlen);

/* Copies the segments into guest RAM, zeroes their BSS, and writes the information structure
 * (memory sizes and map, command line, loader name "bt86") where it overlaps nothing loaded.
 * `img`/`len` must be what multiboot_parse accepted. Returns 0 with its address in *info, or -1
 * with a message. */
int multiboot_load(struct memmap *mem, const uint8_t *img, size_t len, const struct mb_image *mb,
                   const char *cmdline, uint32_t *info, char *err, size_t errlen);

/* Puts a reset CPU in the state the specification prescribes at the kernel's entry: 32-bit
 * flat protected mode from the segment caches (no GDT is needed until the kernel reloads a
 * segment register, and it must bring its own), paging off, IF clear, A20 on,
 * EAX = 0x2BADB002, EBX = info. */
void multiboot_enter(struct cpu *c, uint32_t entry, uint32_t info);

#endif
