#include "mmu/memmap.h"

#include "mmu/journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int memmap_init(struct memmap *m, uint64_t ram_size)
{
    memset(m, 0, sizeof(*m));
    m->ram_fd = -1;
    if (ram_size == 0 || ram_size > 0xF0000000ull || (ram_size & ~(uint64_t)PAGE_MASK & 0xFFF))
        return -EINVAL;
    m->pages = calloc(PHYS_PAGES, sizeof(*m->pages));
    m->code_lines = calloc(PHYS_PAGES, sizeof(*m->code_lines));
    if (!m->pages || !m->code_lines) {
        memmap_destroy(m);
        return -ENOMEM;
    }
    /* One shareable mapping of guest RAM: snapshots, migration and direct execution map the
     * same memfd elsewhere. */
    m->ram_fd = memfd_create("bt86-ram", MFD_CLOEXEC);
    if (m->ram_fd < 0 || ftruncate(m->ram_fd, (off_t)ram_size) != 0) {
        int err = errno;
        memmap_destroy(m);
        return -err;
    }
    void *p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, m->ram_fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        memmap_destroy(m);
        return -err;
    }
    m->ram = p;
    m->ram_size = ram_size;
    for (uint32_t pg = 0; pg < ram_size >> PAGE_SHIFT; pg++) {
        m->pages[pg].host_read = m->ram + ((uint64_t)pg << PAGE_SHIFT);
        m->pages[pg].host_write = m->pages[pg].host_read;
    }
    m->mmio_count = 1;
    return 0;
}

void memmap_destroy(struct memmap *m)
{
    for (unsigned i = 0; i < m->rom_count; i++)
        munmap(m->roms[i].host, m->roms[i].len);
    if (m->ram)
        munmap(m->ram, m->ram_size);
    if (m->ram_fd >= 0)
        close(m->ram_fd);
    free(m->pages);
    free(m->code_lines);
    memset(m, 0, sizeof(*m));
    m->ram_fd = -1;
}

int memmap_add_rom(struct memmap *m, uint32_t base, const void *data, uint32_t size)
{
    if (!data || (base & ~PAGE_MASK) || size == 0 || (uint64_t)base + size > 0x100000000ull)
        return -EINVAL;
    if (m->rom_count >= sizeof(m->roms) / sizeof(m->roms[0]))
        return -ENOSPC;
    uint32_t npages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
    /* ROM contents live in anonymous memory that stays mapped for the VM's life. */
    uint8_t *copy = mmap(NULL, (size_t)npages << PAGE_SHIFT, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (copy == MAP_FAILED)
        return -ENOMEM;
    memset(copy, 0xFF, (size_t)npages << PAGE_SHIFT);
    memcpy(copy, data, size);
    m->roms[m->rom_count].host = copy;
    m->roms[m->rom_count++].len = (size_t)npages << PAGE_SHIFT;
    for (uint32_t i = 0; i < npages; i++) {
        struct page_map *p = &m->pages[(base >> PAGE_SHIFT) + i];
        p->host_read = copy + ((size_t)i << PAGE_SHIFT);
        p->host_write = NULL;
        p->mmio_read = p->mmio_write = 0;
    }
    return 0;
}

static bool range_ok(uint32_t base, uint32_t size)
{
    return !(base & ~PAGE_MASK) && !(size & ~PAGE_MASK) && size != 0 &&
           (uint64_t)base + size <= 0x100000000ull;
}

/* Every page of the range gets `pm`; what was decoded from those pages is stale. */
static void set_pages(struct memmap *m, uint32_t base, uint32_t size, struct page_map pm,
                      bool offset_hosts)
{
    for (uint32_t i = 0; i < size >> PAGE_SHIFT; i++) {
        uint32_t pg = (base >> PAGE_SHIFT) + i;
        struct page_map p = pm;
        if (offset_hosts) {
            p.host_read = pm.host_read ? pm.host_read + ((size_t)i << PAGE_SHIFT) : NULL;
            p.host_write = pm.host_write ? pm.host_write + ((size_t)i << PAGE_SHIFT) : NULL;
        }
        m->pages[pg] = p;
        memmap_note_write(m, pg << PAGE_SHIFT, PAGE_SIZE);
    }
    if (m->map_changed)
        m->map_changed(m->map_changed_opaque);
}

int memmap_register_mmio(struct memmap *m, const struct mmio_ops *ops, void *opaque)
{
    if (!ops || !ops->read || !ops->write)
        return -EINVAL;
    if (m->mmio_count >= MEMMAP_MAX_MMIO)
        return -ENOSPC;
    unsigned idx = m->mmio_count++;
    m->mmio[idx] = (struct mmio_region){0, 0, ops, opaque};
    return (int)idx;
}

int memmap_map_mmio(struct memmap *m, uint32_t base, uint32_t size, int mmio_index)
{
    if (!range_ok(base, size) || mmio_index <= 0 || (unsigned)mmio_index >= m->mmio_count)
        return -EINVAL;
    m->mmio[mmio_index].base = base;
    m->mmio[mmio_index].size = size;
    set_pages(m, base, size, (struct page_map){NULL, NULL, (uint16_t)mmio_index, (uint16_t)mmio_index},
              false);
    return 0;
}

int memmap_add_mmio(struct memmap *m, uint32_t base, uint32_t size, const struct mmio_ops *ops,
                    void *opaque)
{
    if (!range_ok(base, size))
        return -EINVAL;
    int idx = memmap_register_mmio(m, ops, opaque);
    return idx < 0 ? idx : memmap_map_mmio(m, base, size, idx);
}

int memmap_map_host(struct memmap *m, uint32_t base, uint32_t size, uint8_t *host_read,
                    uint8_t *host_write)
{
    if (!range_ok(base, size) || !host_read)
        return -EINVAL;
    set_pages(m, base, size, (struct page_map){host_read, host_write, 0, 0}, true);
    return 0;
}

int memmap_unmap(struct memmap *m, uint32_t base, uint32_t size)
{
    if (!range_ok(base, size))
        return -EINVAL;
    for (uint32_t i = 0; i < size >> PAGE_SHIFT; i++) {
        uint32_t pg = (base >> PAGE_SHIFT) + i;
        uint64_t addr = (uint64_t)pg << PAGE_SHIFT;
        uint8_t *ram = addr < m->ram_size ? m->ram + addr : NULL;
        m->pages[pg] = (struct page_map){ram, ram, 0, 0};
        memmap_note_write(m, (uint32_t)addr, PAGE_SIZE);
    }
    if (m->map_changed)
        m->map_changed(m->map_changed_opaque);
    return 0;
}

static uint32_t load_le(const uint8_t *p, unsigned size)
{
    switch (size) {
    case 1: return p[0];
    case 2: return (uint32_t)p[0] | (uint32_t)p[1] << 8;
    default: return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
}

static void store_le(uint8_t *p, uint32_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t memmap_read(struct memmap *m, uint32_t phys, unsigned size)
{
    const struct page_map *p = &m->pages[phys >> PAGE_SHIFT];
    if (p->host_read)
        return load_le(p->host_read + (phys & ~PAGE_MASK), size);
    if (p->mmio_read) {
        if (m->journal && m->journal->recording)
            mem_journal_abort(m->journal);
        const struct mmio_region *r = &m->mmio[p->mmio_read];
        return r->ops->read(r->opaque, phys - r->base, size);
    }
    return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

void memmap_write(struct memmap *m, uint32_t phys, uint32_t value, unsigned size)
{
    const struct page_map *p = &m->pages[phys >> PAGE_SHIFT];
    if (p->host_write) {
        if (m->journal && m->journal->recording)
            mem_journal_log(m->journal, m, phys, size);
        memmap_note_write(m, phys, size);
        store_le(p->host_write + (phys & ~PAGE_MASK), value, size);
    } else if (p->mmio_write) {
        if (m->journal && m->journal->recording)
            mem_journal_abort(m->journal);
        const struct mmio_region *r = &m->mmio[p->mmio_write];
        r->ops->write(r->opaque, phys - r->base, value, size);
    }
}

bool memmap_copy_to(struct memmap *m, uint32_t phys, const void *src, size_t len)
{
    const uint8_t *s = src;
    bool ok = true;
    while (len) {
        uint32_t in_page = PAGE_SIZE - (phys & ~PAGE_MASK);
        size_t n = len < in_page ? len : in_page;
        uint8_t *h = memmap_write_ptr(m, phys);
        if (h) {
            memmap_note_write(m, phys, (uint32_t)n);
            memcpy(h, s, n);
        } else {
            ok = false;
        }
        s += n;
        len -= n;
        phys += (uint32_t)n;
        if (phys == 0 && len)
            return false;
    }
    return ok;
}

bool memmap_copy_from(struct memmap *m, uint32_t phys, void *dst, size_t len)
{
    uint8_t *d = dst;
    bool ok = true;
    while (len) {
        uint32_t in_page = PAGE_SIZE - (phys & ~PAGE_MASK);
        size_t n = len < in_page ? len : in_page;
        uint8_t *h = memmap_read_ptr(m, phys);
        if (h) {
            memcpy(d, h, n);
        } else {
            memset(d, 0xFF, n);
            ok = false;
        }
        d += n;
        len -= n;
        phys += (uint32_t)n;
        if (phys == 0 && len)
            return false;
    }
    return ok;
}

/* Bits of the 64-byte lines [off, off + len) of one page covers (off + len <= PAGE_SIZE). */
static uint64_t line_bits(uint32_t off, uint32_t len)
{
    unsigned first = off >> CODE_LINE_SHIFT, last = (off + len - 1) >> CODE_LINE_SHIFT;
    uint64_t upto_last = last == 63 ? ~0ull : (2ull << last) - 1;
    return upto_last & ~((1ull << first) - 1);
}

void memmap_mark_code(struct memmap *m, uint32_t phys, uint32_t len)
{
    uint32_t off = phys & ~PAGE_MASK;
    if (len == 0)
        return;
    if (len > PAGE_SIZE - off)
        len = PAGE_SIZE - off;
    m->code_lines[phys >> PAGE_SHIFT] |= line_bits(off, len);
}

void memmap_note_write(struct memmap *m, uint32_t phys, uint32_t len)
{
    while (len) {
        uint32_t pg = phys >> PAGE_SHIFT, off = phys & ~PAGE_MASK;
        uint32_t n = len < PAGE_SIZE - off ? len : PAGE_SIZE - off;
        if (m->code_lines[pg] & line_bits(off, n)) {
            m->code_lines[pg] = 0;
            if (m->code_write_hook)
                m->code_write_hook(m->code_write_opaque, pg << PAGE_SHIFT);
        }
        len -= n;
        phys += n;
        if (phys == 0)
            break; /* wrapped past 4 GiB */
    }
}
