/* Guest-physical memory map: RAM (one memfd mapping, DESIGN decision 9), ROM, MMIO.
 * Unassigned addresses read as all-ones and ignore writes. Lookups are by 4 KiB page through a
 * flat page table so a TLB miss costs one array index, not a region search. */
#ifndef BT86_MEMMAP_H
#define BT86_MEMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE 4096u
#define PAGE_MASK 0xFFFFF000u
#define PHYS_PAGES (1u << 20) /* 4 GiB of 4 KiB pages */

struct mmio_ops {
    uint32_t (*read)(void *opaque, uint32_t offset, unsigned size);
    void (*write)(void *opaque, uint32_t offset, uint32_t value, unsigned size);
};

enum page_kind { PG_UNASSIGNED = 0, PG_RAM, PG_ROM, PG_MMIO };

/* What one physical page is, for reads and for writes separately (chipset shadowing can read
 * ROM while writing RAM). `host` is NULL unless the kind is RAM or ROM. */
struct page_map {
    uint8_t *host_read;
    uint8_t *host_write;
    uint16_t mmio_read;  /* index into memmap.mmio, 0 = none */
    uint16_t mmio_write;
};

#define MEMMAP_MAX_MMIO 64

struct mmio_region {
    uint32_t base, size;
    const struct mmio_ops *ops;
    void *opaque;
};

struct mem_journal;

struct memmap {
    uint8_t *ram;
    uint64_t ram_size;
    int ram_fd;
    struct page_map *pages;          /* PHYS_PAGES entries */
    struct mmio_region mmio[MEMMAP_MAX_MMIO];
    unsigned mmio_count;             /* entry 0 is reserved as "none" */
    struct { uint8_t *host; size_t len; } roms[16]; /* ROM copies owned by the map */
    unsigned rom_count;
    uint64_t *code_lines;            /* per page, one bit per 64-byte line holding decoded code */
    void (*code_write_hook)(void *opaque, uint32_t phys_page);
    void *code_write_opaque;
    /* Called after the map changed (remap, new MMIO window): whoever caches translations of
     * guest-physical addresses (the CPU's TLB) must drop them. */
    void (*map_changed)(void *opaque);
    void *map_changed_opaque;
    struct mem_journal *journal;     /* compare mode (mmu/journal.h), else NULL */
};

/* Creates guest RAM of ram_size bytes at physical 0 (below 4 GiB, no hole handling yet beyond
 * what the caller maps over it). Returns 0 or -errno. */
int memmap_init(struct memmap *m, uint64_t ram_size);
void memmap_destroy(struct memmap *m);

/* Map `size` bytes of `data` read-only at `base` (copied; the ROM owns its copy). */
int memmap_add_rom(struct memmap *m, uint32_t base, const void *data, uint32_t size);
int memmap_add_mmio(struct memmap *m, uint32_t base, uint32_t size, const struct mmio_ops *ops,
                    void *opaque);

/* Remapping at run time (chipset shadow RAM, PCI BARs, framebuffers). Ranges are page-aligned.
 * memmap_register_mmio() returns an MMIO index (> 0) to map and unmap later, or -errno. */
int memmap_register_mmio(struct memmap *m, const struct mmio_ops *ops, void *opaque);
int memmap_map_mmio(struct memmap *m, uint32_t base, uint32_t size, int mmio_index);
/* Plain memory owned by the caller: reads from host_read, writes to host_write (NULL: writes
 * are ignored, as for ROM). Both point at the first byte of the range. */
int memmap_map_host(struct memmap *m, uint32_t base, uint32_t size, uint8_t *host_read,
                    uint8_t *host_write);
/* Back to guest RAM where RAM exists, unassigned elsewhere. */
int memmap_unmap(struct memmap *m, uint32_t base, uint32_t size);

/* Host pointer for physical page access, or NULL (MMIO/unassigned/ROM write). */
static inline uint8_t *memmap_read_ptr(const struct memmap *m, uint32_t phys)
{
    uint8_t *h = m->pages[phys >> PAGE_SHIFT].host_read;
    return h ? h + (phys & ~PAGE_MASK) : NULL;
}
static inline uint8_t *memmap_write_ptr(const struct memmap *m, uint32_t phys)
{
    uint8_t *h = m->pages[phys >> PAGE_SHIFT].host_write;
    return h ? h + (phys & ~PAGE_MASK) : NULL;
}

/* Slow-path physical accesses of 1, 2 or 4 bytes within one page (MMIO, ROM, unassigned). */
uint32_t memmap_read(struct memmap *m, uint32_t phys, unsigned size);
void memmap_write(struct memmap *m, uint32_t phys, uint32_t value, unsigned size);

/* Byte-range copies for loaders and DMA: they respect the map (ROM is not written, unassigned
 * reads as 0xFF). Return false if any byte fell outside RAM/ROM. */
bool memmap_copy_to(struct memmap *m, uint32_t phys, const void *src, size_t len);
bool memmap_copy_from(struct memmap *m, uint32_t phys, void *dst, size_t len);

/* Code write watch. Decoding marks the 64-byte lines its bytes occupy; a page with any marked
 * line gets no fast write mapping. A write that touches a marked line calls code_write_hook
 * (which invalidates everything decoded from the page) and clears the page's marks; writes to
 * other lines of the page (data sharing a page with code, as in real-mode programs) only take
 * the slow path and invalidate nothing. */
#define CODE_LINE_SHIFT 6
static inline bool memmap_is_code(const struct memmap *m, uint32_t phys)
{
    return m->code_lines[phys >> PAGE_SHIFT] != 0;
}
/* Mark [phys, phys + len) as holding code; the range is clipped to phys's page. */
void memmap_mark_code(struct memmap *m, uint32_t phys, uint32_t len);
/* A write of len bytes at phys happened (or is about to): fire the watch where it applies. */
void memmap_note_write(struct memmap *m, uint32_t phys, uint32_t len);

#endif
