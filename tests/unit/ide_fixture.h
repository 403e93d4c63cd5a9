/* Shared by test_ide.c and test_atapi.c: a PIIX3 IDE controller on an I/O bus with 2 MiB of
 * guest RAM, a virtual clock, recorded IRQ14/15 levels, the bus master window at 0xC000 and
 * generated images in temporary files. */
#ifndef BT86_TEST_IDE_FIXTURE_H
#define BT86_TEST_IDE_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/ide.h"

#define PRI 0x1F0
#define PRI_CTL 0x3F6
#define SEC 0x170
#define SEC_CTL 0x376
#define BM 0xC000
#define RAM_SIZE (2u << 20)
#define MAX_IMAGES 4

struct fx {
    struct ioport_bus bus;
    struct memmap mem;
    struct vclock clock;
    struct ide_ctrl ide;
    struct block_dev img[MAX_IMAGES];
    char path[MAX_IMAGES][64];
    unsigned nimg;
    bool irq[2];
    int rises[2];
    uint32_t bm_old, bm_new;
    int bm_moves;
};

static inline void fx_irq(void *opaque, unsigned line, bool level)
{
    struct fx *f = opaque;
    unsigned i = line == 14 ? 0 : 1;
    if (level && !f->irq[i])
        f->rises[i]++;
    f->irq[i] = level;
}

static inline void fx_bm_moved(void *opaque, uint32_t old_base, uint32_t new_base)
{
    struct fx *f = opaque;
    f->bm_old = old_base;
    f->bm_new = new_base;
    f->bm_moves++;
}

/* The byte at offset i of sector lba in every generated image. */
static inline uint8_t pat(uint64_t lba, unsigned i)
{
    return (uint8_t)(lba * 31 + i * 7 + (i >> 8) + (lba >> 8));
}

/* A temporary image of `sectors` sectors of `ss` bytes with the pattern; returns its index. */
static inline int fx_image(struct fx *f, uint64_t sectors, unsigned ss, bool read_only)
{
    unsigned k = f->nimg++;
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(f->path[k], sizeof(f->path[k]), "%s/bt86-ide-XXXXXX", dir);
    int fd = mkstemp(f->path[k]);
    if (fd < 0)
        return -1;
    /* Written 64 KiB at a time: tests make several 10 MiB images. */
    const size_t chunk = 65536;
    uint8_t *buf = malloc(chunk);
    uint64_t per = chunk / ss;
    for (uint64_t s = 0; s < sectors; s += per) {
        uint64_t n = sectors - s < per ? sectors - s : per;
        for (uint64_t k2 = 0; k2 < n; k2++)
            for (unsigned i = 0; i < ss; i++)
                buf[k2 * ss + i] = pat(s + k2, i);
        if (pwrite(fd, buf, n * ss, (off_t)(s * ss)) != (ssize_t)(n * ss)) {
            free(buf);
            close(fd);
            return -1;
        }
    }
    free(buf);
    close(fd);
    return block_open(&f->img[k], f->path[k], read_only) ? -1 : (int)k;
}

static inline struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    ioport_init(&f->bus);
    if (memmap_init(&f->mem, RAM_SIZE)) {
        free(f);
        return NULL;
    }
    vclock_init(&f->clock);
    ide_init(&f->ide, &f->mem, &f->clock);
    f->ide.ch[0].irq = (struct irq_line){fx_irq, f, 14};
    f->ide.ch[1].irq = (struct irq_line){fx_irq, f, 15};
    f->ide.bm_moved = fx_bm_moved;
    f->ide.bm_moved_opaque = f;
    if (ide_register_ports(&f->ide, &f->bus) ||
        ioport_register(&f->bus, BM, 16, &ide_bm_io_ops, &f->ide))
        return NULL;
    /* What a BIOS does: BAR4 at 0xC000, I/O decode and bus mastering on. */
    pci_config_write(&f->ide.pci, PCI_BAR0 + 16, BM, 4);
    pci_config_write(&f->ide.pci, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
    return f;
}

static inline void fx_free(struct fx *f)
{
    for (unsigned k = 0; k < f->nimg; k++) {
        block_close(&f->img[k]);
        unlink(f->path[k]);
    }
    memmap_destroy(&f->mem);
    free(f);
}

static inline uint8_t inb(struct fx *f, uint16_t port) { return (uint8_t)ioport_read(&f->bus, port, 1); }
static inline uint16_t inw(struct fx *f, uint16_t port) { return (uint16_t)ioport_read(&f->bus, port, 2); }
static inline uint32_t inl(struct fx *f, uint16_t port) { return ioport_read(&f->bus, port, 4); }
static inline void outb(struct fx *f, uint16_t port, uint8_t v) { ioport_write(&f->bus, port, v, 1); }
static inline void outw(struct fx *f, uint16_t port, uint16_t v) { ioport_write(&f->bus, port, v, 2); }
static inline void outl(struct fx *f, uint16_t port, uint32_t v) { ioport_write(&f->bus, port, v, 4); }

/* Let the BSY period of whatever was started run out. */
static inline void settle(struct fx *f) { vclock_advance(&f->clock, f->clock.now + 1000000); }

static inline void put_le32(struct fx *f, uint32_t addr, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    memmap_copy_to(&f->mem, addr, b, 4);
}

/* One PRD at `at`: region base, byte count (0 = 64 KiB), end-of-table flag. */
static inline void prd(struct fx *f, uint32_t at, uint32_t base, uint32_t count, bool eot)
{
    put_le32(f, at, base);
    put_le32(f, at + 4, (count & 0xFFFF) | (eot ? 0x80000000u : 0));
}

#endif
