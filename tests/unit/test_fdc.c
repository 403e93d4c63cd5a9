/* Unit tests of the 82077AA floppy controller (devices/fdc.c) driven through its ports like a
 * BIOS driver, with DMA channel 2 of a real i8237 and raw images in a temporary directory;
 * and of the raw image backend (devices/block.c). Expected status bytes are worked out by
 * hand from the 82077AA datasheet (ST0-ST3 layouts, table 5-6 for C/H/R after a transfer). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/block.h"
#include "devices/clock.h"
#include "devices/fdc.h"
#include "devices/i8237.h"
#include "devices/ioport.h"
#include "mmu/memmap.h"

#define RAM_SIZE (4u << 20)
#define SIZE_144 1474560u

enum { DOR = 0x3F2, MSR = 0x3F4, DSR = 0x3F4, FIFO = 0x3F5, DIR = 0x3F7, CCR = 0x3F7 };

struct fixture {
    struct memmap mem;
    struct ioport_bus bus;
    struct vclock clock;
    struct i8237 dma;
    struct fdc fdc;
    struct block_dev img[2];
    bool img_open[2];
    char dir[64];
    char path[2][96];
    bool irq_level;
    int irq_rises;
};

static void irq_set(void *opaque, unsigned line, bool level)
{
    struct fixture *f = opaque;
    assert_int_equal(line, 6);
    if (level && !f->irq_level)
        f->irq_rises++;
    f->irq_level = level;
}

/* Byte i of the sector at LBA `lba` in a generated image. */
static uint8_t pattern(uint32_t lba, uint32_t i) { return (uint8_t)(lba * 131u ^ i * 7u ^ lba >> 3); }

static void make_image(const char *path, uint32_t size)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    uint8_t sec[512];
    for (uint32_t lba = 0; lba < size / 512; lba++) {
        for (uint32_t i = 0; i < 512; i++)
            sec[i] = pattern(lba, i);
        assert_int_equal(fwrite(sec, 1, 512, fp), 512);
    }
    uint32_t tail = size % 512;
    if (tail) {
        memset(sec, 0x33, tail);
        assert_int_equal(fwrite(sec, 1, tail, fp), tail);
    }
    assert_int_equal(fclose(fp), 0);
}

static void out(struct fixture *f, uint16_t port, uint8_t v) { ioport_write(&f->bus, port, v, 1); }
static uint8_t in(struct fixture *f, uint16_t port) { return (uint8_t)ioport_read(&f->bus, port, 1); }
static void run(struct fixture *f, uint64_t ns) { vclock_advance(&f->clock, f->clock.now + ns); }

/* Sends a command the way drivers do: each byte only when MSR says RQM with DIO clear. */
static void cmd(struct fixture *f, const uint8_t *bytes, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(in(f, MSR) & 0xC0, 0x80);
        out(f, FIFO, bytes[i]);
    }
}

/* Reads result bytes while MSR offers them; returns how many. */
static unsigned result(struct fixture *f, uint8_t *res, unsigned max)
{
    unsigned n = 0;
    while ((in(f, MSR) & 0xD0) == 0xD0) {
        assert_true(n < max);
        res[n++] = in(f, FIFO);
    }
    assert_int_equal(in(f, MSR) & 0xF0, 0x80); /* back in the command phase */
    return n;
}

static void sense(struct fixture *f, uint8_t st0, uint8_t pcn)
{
    uint8_t c = 0x08, res[2];
    cmd(f, &c, 1);
    assert_int_equal(result(f, res, 2), 2);
    assert_int_equal(res[0], st0);
    assert_int_equal(res[1], pcn);
}

/* Drive `unit` with a generated image of `size` bytes. */
static int insert(struct fixture *f, unsigned unit, uint32_t size, bool read_only)
{
    make_image(f->path[unit], size);
    assert_int_equal(block_open(&f->img[unit], f->path[unit], read_only), 0);
    f->img_open[unit] = true;
    const struct fdc_format *fmt = fdc_format_for_size(size);
    enum fdc_drive_type type = fmt ? fdc_drive_type_for_format(fmt) : FDC_DRIVE_1_44M;
    assert_int_equal(fdc_connect_drive(&f->fdc, unit, type), 0);
    return fdc_insert(&f->fdc, unit, &f->img[unit], false);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || memmap_init(&f->mem, RAM_SIZE))
        return -1;
    ioport_init(&f->bus);
    vclock_init(&f->clock);
    if (i8237_attach(&f->dma, &f->bus, &f->mem) ||
        fdc_attach(&f->fdc, &f->bus, FDC_DEFAULT_BASE, &f->clock, &f->dma, FDC_DEFAULT_DMA))
        return -1;
    f->fdc.irq = (struct irq_line){irq_set, f, 6};
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof(f->dir), "%s/bt86fdcXXXXXX", tmp && strlen(tmp) < 30 ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    for (int i = 0; i < 2; i++)
        snprintf(f->path[i], sizeof(f->path[i]), "%s/disk%d.img", f->dir, i);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 2; i++) {
        fdc_eject(&f->fdc, (unsigned)i);
        if (f->img_open[i])
            block_close(&f->img[i]);
        unlink(f->path[i]);
    }
    rmdir(f->dir);
    memmap_destroy(&f->mem);
    free(f);
    return 0;
}

/* DMA channel 2 for `bytes` at `phys`: mode 0x46 (write memory) or 0x4A (read memory). */
static void dma_setup(struct fixture *f, uint32_t phys, uint32_t bytes, uint8_t mode)
{
    out(f, 0x0A, 0x06);
    out(f, 0x0C, 0);
    out(f, 0x04, (uint8_t)phys);
    out(f, 0x04, (uint8_t)(phys >> 8));
    out(f, 0x0C, 0);
    out(f, 0x05, (uint8_t)(bytes - 1));
    out(f, 0x05, (uint8_t)((bytes - 1) >> 8));
    out(f, 0x0B, mode);
    out(f, 0x81, (uint8_t)(phys >> 16));
    out(f, 0x0A, 0x02);
}

/* Reset through the DOR, collect the four polling statuses, 500 kbps, recalibrate drive 0. */
static void ready_144(struct fixture *f)
{
    out(f, DOR, 0x08);
    out(f, DOR, 0x1C);
    for (uint8_t i = 0; i < 4; i++)
        sense(f, (uint8_t)(0xC0 | i), 0);
    out(f, CCR, 0x00);
    const uint8_t spec[] = {0x03, 0xAF, 0x02};
    cmd(f, spec, 3);
    const uint8_t recal[] = {0x07, 0x00};
    cmd(f, recal, 2);
    run(f, 1000000);
    sense(f, 0x20, 0);
}

static unsigned rw(struct fixture *f, uint8_t op, uint8_t c, uint8_t h, uint8_t r, uint8_t eot,
                   uint8_t *res)
{
    const uint8_t c9[] = {op, (uint8_t)(h << 2), c, h, r, 2, eot, 0x1B, 0xFF};
    cmd(f, c9, 9);
    run(f, 1000000);
    return result(f, res, 7);
}

static void expect7(const uint8_t *res, uint8_t st0, uint8_t st1, uint8_t st2, uint8_t c,
                    uint8_t h, uint8_t r)
{
    assert_int_equal(res[0], st0);
    assert_int_equal(res[1], st1);
    assert_int_equal(res[2], st2);
    assert_int_equal(res[3], c);
    assert_int_equal(res[4], h);
    assert_int_equal(res[5], r);
    assert_int_equal(res[6], 2);
}

static void assert_sector(struct fixture *f, uint32_t phys, uint32_t lba)
{
    for (uint32_t i = 0; i < 512; i++)
        if (f->mem.ram[phys + i] != pattern(lba, i))
            fail_msg("byte %u of LBA %u at 0x%x: %02x, want %02x", i, lba, phys + i,
                     f->mem.ram[phys + i], pattern(lba, i));
}

/* ---- tests ---- */

static void reset_and_polling(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(in(f, DOR), 0x0C);
    assert_int_equal(in(f, MSR), 0x80);
    out(f, DOR, 0x08); /* hold in reset */
    assert_int_equal(in(f, MSR), 0x00);
    assert_false(f->irq_level);
    out(f, DOR, 0x0C);
    assert_true(f->irq_level);
    assert_int_equal(f->irq_rises, 1);
    assert_int_equal(in(f, MSR), 0x80);
    sense(f, 0xC0, 0);
    assert_false(f->irq_level); /* the first SENSE INTERRUPT acknowledges */
    sense(f, 0xC1, 0);
    sense(f, 0xC2, 0);
    sense(f, 0xC3, 0);
    /* Nothing more pending: SENSE INTERRUPT STATUS is invalid. */
    uint8_t c = 0x08, res[2];
    cmd(f, &c, 1);
    assert_int_equal(result(f, res, 2), 1);
    assert_int_equal(res[0], 0x80);
    /* The DSR's self-clearing software reset does the same. */
    out(f, DSR, 0x80);
    assert_true(f->irq_level);
    assert_int_equal(in(f, MSR), 0x80);
    for (uint8_t i = 0; i < 4; i++)
        sense(f, (uint8_t)(0xC0 | i), 0);
    /* With DMA/IRQ gated off in the DOR, the interrupt stays inside the chip. */
    out(f, DOR, 0x00);
    out(f, DOR, 0x04);
    assert_false(f->irq_level);
    out(f, DOR, 0x0C);
    assert_true(f->irq_level);
}

static void version_specify_configure(void **state)
{
    struct fixture *f = *state;
    uint8_t res[10];
    const uint8_t version = 0x10;
    cmd(f, &version, 1);
    assert_int_equal(result(f, res, 10), 1);
    assert_int_equal(res[0], 0x90);
    const uint8_t spec[] = {0x03, 0xDF, 0x02};
    cmd(f, spec, 3);
    assert_int_equal(in(f, MSR), 0x80); /* no result phase, no interrupt */
    assert_false(f->irq_level);
    const uint8_t conf[] = {0x13, 0x00, 0x57, 0x10};
    cmd(f, conf, 4);
    const uint8_t perp[] = {0x12, 0x87}; /* OW, drive 0 perpendicular, GAP, WGATE */
    cmd(f, perp, 2);
    const uint8_t dump = 0x0E;
    cmd(f, &dump, 1);
    assert_int_equal(result(f, res, 10), 10);
    const uint8_t want[10] = {0, 0, 0, 0, 0xDF, 0x02, 0x00, 0x07, 0x57, 0x10};
    assert_memory_equal(res, want, 10);
    /* LOCK keeps EFIFO/FIFOTHR/PRETRK over a software reset; EIS, POLL, GAP, WGATE go. */
    const uint8_t lock = 0x94;
    cmd(f, &lock, 1);
    assert_int_equal(result(f, res, 10), 1);
    assert_int_equal(res[0], 0x10);
    out(f, DSR, 0x80);
    for (uint8_t i = 0; i < 4; i++) /* polling was re-enabled by the reset */
        sense(f, (uint8_t)(0xC0 | i), 0);
    cmd(f, &dump, 1);
    assert_int_equal(result(f, res, 10), 10);
    const uint8_t after[10] = {0, 0, 0, 0, 0xDF, 0x02, 0x00, 0x84, 0x07, 0x10};
    assert_memory_equal(res, after, 10);
    const uint8_t unlock = 0x14;
    cmd(f, &unlock, 1);
    assert_int_equal(result(f, res, 10), 1);
    assert_int_equal(res[0], 0x00);
    /* PART ID (an 82078 command) and junk are invalid: one byte, 0x80, no interrupt. */
    const uint8_t partid = 0x18, junk = 0xFF;
    cmd(f, &partid, 1);
    assert_int_equal(result(f, res, 10), 1);
    assert_int_equal(res[0], 0x80);
    cmd(f, &junk, 1);
    assert_int_equal(result(f, res, 10), 1);
    assert_int_equal(res[0], 0x80);
    assert_false(f->irq_level);
}

static void recalibrate_seek_sense(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert(f, 0, SIZE_144, false), 0);
    out(f, DOR, 0x1C);
    const uint8_t recal[] = {0x07, 0x00};
    cmd(f, recal, 2);
    /* The seek is under way: drive 0 busy, interrupt not yet. */
    assert_int_equal(in(f, MSR), 0x81);
    assert_false(f->irq_level);
    uint8_t c = 0x08, res[2];
    cmd(f, &c, 1); /* too early: nothing to report */
    assert_int_equal(result(f, res, 2), 1);
    assert_int_equal(res[0], 0x80);
    run(f, 1000000);
    assert_true(f->irq_level);
    assert_int_equal(in(f, MSR), 0x80);
    sense(f, 0x20, 0);
    assert_false(f->irq_level);

    const uint8_t seek[] = {0x0F, 0x04, 5}; /* head 1, cylinder 5 */
    cmd(f, seek, 3);
    run(f, 1000000);
    sense(f, 0x24, 5);
    const uint8_t sds[] = {0x04, 0x04};
    cmd(f, sds, 2);
    assert_int_equal(result(f, res, 2), 1);
    assert_int_equal(res[0], 0x2C); /* RDY, TS, head 1, not on track 0, not protected */
    const uint8_t rel[] = {0xCF, 0x00, 3}; /* relative seek inwards by 3 */
    cmd(f, rel, 3);
    run(f, 1000000);
    sense(f, 0x20, 8);
    cmd(f, recal, 2);
    run(f, 1000000);
    sense(f, 0x20, 0);
    const uint8_t sds0[] = {0x04, 0x00};
    cmd(f, sds0, 2);
    assert_int_equal(result(f, res, 2), 1);
    assert_int_equal(res[0], 0x38); /* track 0 now */

    /* No drive on unit 3: TRK0 never comes, abnormal end with equipment check. */
    const uint8_t recal3[] = {0x07, 0x03};
    cmd(f, recal3, 2);
    run(f, 1000000);
    sense(f, 0x73, 0);
}

static void read_one_sector(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert(f, 0, SIZE_144, false), 0);
    ready_144(f);
    memset(f->mem.ram + 0x10000, 0, 1024);
    dma_setup(f, 0x10000, 512, 0x46);
    const uint8_t rd[] = {0xE6, 0x00, 0, 0, 1, 2, 18, 0x1B, 0xFF};
    int rises = f->irq_rises;
    cmd(f, rd, 9);
    /* Busy phase: no RQM, command busy, no interrupt until virtual time passes. */
    assert_int_equal(in(f, MSR), 0x10);
    assert_false(f->irq_level);
    run(f, 1000000);
    assert_true(f->irq_level);
    assert_int_equal(f->irq_rises, rises + 1);
    uint8_t res[7];
    assert_int_equal(result(f, res, 7), 7);
    assert_false(f->irq_level);
    expect7(res, 0x00, 0x00, 0x00, 0, 0, 2); /* TC before EOT: R+1 */
    assert_sector(f, 0x10000, 0);
    assert_int_equal(f->mem.ram[0x10200], 0);
    assert_int_equal(in(f, 0x08) & 0x04, 0x04); /* the 8237 saw TC on channel 2 */

    /* TC on the EOT sector: normal end, table 5-6 moves to the next track. */
    dma_setup(f, 0x10000, 512, 0x46);
    assert_int_equal(rw(f, 0x66, 0, 0, 5, 5, res), 7);
    expect7(res, 0x00, 0x00, 0x00, 1, 0, 1); /* MT=0: C+1, R=1 */
    assert_sector(f, 0x10000, 4);
    dma_setup(f, 0x10000, 512, 0x46);
    assert_int_equal(rw(f, 0xE6, 0, 0, 5, 5, res), 7);
    expect7(res, 0x00, 0x00, 0x00, 0, 1, 1); /* MT=1 on side 0: H complemented, R=1 */
    dma_setup(f, 0x10000, 512, 0x46);
    assert_int_equal(rw(f, 0xE6, 7, 1, 9, 9, res), 7);
    expect7(res, 0x04, 0x00, 0x00, 8, 0, 1); /* MT=1 on side 1: C+1, H complemented */
    assert_sector(f, 0x10000, (7 * 2 + 1) * 18 + 8);

    /* The verify mode of the 8237 (how a BIOS verifies): data read, memory untouched. */
    memset(f->mem.ram + 0x10000, 0x5A, 512);
    dma_setup(f, 0x10000, 512, 0x42);
    assert_int_equal(rw(f, 0xE6, 0, 0, 3, 18, res), 7);
    expect7(res, 0x00, 0x00, 0x00, 0, 0, 4);
    assert_int_equal(f->mem.ram[0x10000], 0x5A);
}

static void read_multi_track(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert(f, 0, SIZE_144, false), 0);
    ready_144(f);
    dma_setup(f, 0x20000, 4 * 512, 0x46);
    uint8_t res[7];
    /* Sectors 17 and 18 of side 0, then 1 and 2 of side 1 of cylinder 0. */
    assert_int_equal(rw(f, 0xE6, 0, 0, 17, 18, res), 7);
    expect7(res, 0x04, 0x00, 0x00, 0, 1, 3);
    assert_sector(f, 0x20000, 16);
    assert_sector(f, 0x20200, 17);
    assert_sector(f, 0x20400, 18);
    assert_sector(f, 0x20600, 19);

    /* Without MT the track ends at EOT before TC: abnormal, End of Cylinder. */
    dma_setup(f, 0x20000, 4 * 512, 0x46);
    assert_int_equal(rw(f, 0x66, 2, 0, 17, 18, res), 7);
    expect7(res, 0x40, 0x80, 0x00, 3, 0, 1);
    assert_int_equal(i8237_remaining(&f->dma, 2), 2 * 512);
    assert_sector(f, 0x20200, 2 * 36 + 17);
    /* With MT, the end of side 1 ends the cylinder too. */
    dma_setup(f, 0x20000, 4 * 512, 0x46);
    assert_int_equal(rw(f, 0xE6, 2, 1, 18, 18, res), 7);
    expect7(res, 0x44, 0x80, 0x00, 3, 0, 1);
    assert_sector(f, 0x20000, 2 * 36 + 18 + 17);
}

static void read_errors(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert(f, 0, SIZE_144, false), 0);
    ready_144(f);
    uint8_t res[7];
    dma_setup(f, 0x10000, 512, 0x46);
    /* Sector 19 of an 18-sector track: Sector Not Found. C/H/R stay. */
    assert_int_equal(rw(f, 0xE6, 0, 0, 19, 19, res), 7);
    expect7(res, 0x40, 0x04, 0x00, 0, 0, 19);
    assert_int_equal(rw(f, 0xE6, 0, 0, 0, 18, res), 7); /* there is no sector 0 */
    expect7(res, 0x40, 0x04, 0x00, 0, 0, 0);
    /* Cylinder 80 is past the medium: no ID at all, Missing Address Mark. */
    assert_int_equal(rw(f, 0xE6, 80, 0, 1, 18, res), 7);
    expect7(res, 0x40, 0x01, 0x00, 80, 0, 1);
    assert_int_equal(rw(f, 0xE6, 250, 1, 1, 18, res), 7);
    expect7(res, 0x44, 0x01, 0x00, 250, 1, 1);
    /* 512-byte sectors are not found with N=3. */
    const uint8_t n3[] = {0xE6, 0x00, 0, 0, 1, 3, 18, 0x1B, 0xFF};
    cmd(f, n3, 9);
    run(f, 1000000);
    assert_int_equal(result(f, res, 7), 7);
    assert_int_equal(res[0], 0x40);
    assert_int_equal(res[1], 0x04);
    /* Wrong data rate for the medium (250 kbps for a 1.44M disk): MA. */
    out(f, CCR, 0x02);
    assert_int_equal(rw(f, 0xE6, 0, 0, 1, 18, res), 7);
    expect7(res, 0x40, 0x01, 0x00, 0, 0, 1);
    out(f, CCR, 0x00);
    /* FM (MFM bit clear): no IDs either. */
    assert_int_equal(rw(f, 0xA6, 0, 0, 1, 18, res), 7);
    expect7(res, 0x40, 0x01, 0x00, 0, 0, 1);
    /* The channel masked: nobody takes the data, overrun. */
    out(f, 0x0A, 0x06);
    assert_int_equal(rw(f, 0xE6, 0, 0, 1, 18, res), 7);
    expect7(res, 0x40, 0x10, 0x00, 0, 0, 1);
    /* A drive with no disk: MA. */
    fdc_eject(&f->fdc, 0);
    dma_setup(f, 0x10000, 512, 0x46);
    assert_int_equal(rw(f, 0xE6, 0, 0, 1, 18, res), 7);
    expect7(res, 0x40, 0x01, 0x00, 0, 0, 1);
}

/* What SeaBIOS does (src/hw/floppy.c): reset, a single SENSE INTERRUPT, recalibrate,
 * READ ID to probe the rate, then READ DATA with EOT = last sector wanted and no SEEK. */
static void seabios_sequence(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert(f, 0, SIZE_144, false), 0);
    assert_int_equal(insert(f, 1, 737280, false), 0);
    out(f, DOR, (uint8_t)(in(f, DOR) & ~0x04));
    out(f, DOR, (uint8_t)(in(f, DOR) | 0x04));
    assert_true(f->irq_level);
    sense(f, 0xC0, 0);
    out(f, DOR, 0x2D); /* motor B, DMA+IRQ, drive 1 */
    const uint8_t recal1[] = {0x07, 0x01};
    cmd(f, recal1, 2);
    run(f, 1000000);
    sense(f, 0x21, 0); /* not drive 1's left-over reset status */
    uint8_t res[7];
    for (uint8_t rate = 0; rate < 3; rate++) { /* 500K fails, 300K fails, 250K finds 720K */
        out(f, CCR, rate);
        const uint8_t rid[] = {0x4A, 0x01};
        cmd(f, rid, 2);
        run(f, 1000000);
        assert_int_equal(result(f, res, 7), 7);
        assert_int_equal(res[0] & 0xC0, rate == 2 ? 0x00 : 0x40);
    }
    /* LBA 100 of a 720K disk: C5 H1 S2, two sectors: EOT 3. */
    dma_setup(f, 0x7C00, 1024, 0x46);
    const uint8_t rd[] = {0xE6, 0x05, 5, 1, 2, 2, 3, 0x1B, 0xFF};
    cmd(f, rd, 9);
    run(f, 1000000);
    assert_int_equal(result(f, res, 7), 7);
    expect7(res, 0x05, 0x00, 0x00, 6, 0, 1); /* TC on EOT of side 1: table 5-6 */
    assert_sector(f, 0x7C00, 100);
    assert_sector(f, 0x7E00, 101);
    const uint8_t sds[] = {0x04, 0x01};
    cmd(f, sds, 2);
    assert_int_equal(result(f, res, 1), 1);
    assert_int_equal(res[0] & 0x10, 0); /* the implied seek moved the head off track 0 */
}

static void dma_gate_off(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert(f, 0, SIZE_144, false), 0);
    ready_144(f);
    dma_setup(f, 0x10000, 512, 0x46);
    out(f, DOR, 0x14); /* DMA/IRQ gate off */
    const uint8_t rd[] = {0xE6, 0x00, 0, 0, 1, 2, 18, 0x1B, 0xFF};
    cmd(f, rd, 9);
    run(f, 1000000);
    assert_false(f->irq_level); /* gated */
    assert_int_equal(in(f, MSR), 0xD0);
    out(f, DOR, 0x1C);
    assert_true(f->irq_level); /* the pending interrupt shows once the gate opens */
    uint8_t res[7];
    assert_int_equal(result(f, res, 7), 7);
    expect7(res, 0x40, 0x10, 0x00, 0, 0, 1);
    assert_int_equal(i8237_remaining(&f->dma, 2), 512); /* DRQ never reached the 8237 */
}

static void write_sectors(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert(f, 0, SIZE_144, false), 0);
    ready_144(f);
    for (uint32_t i = 0; i < 1024; i++)
        f->mem.ram[0x30000 + i] = (uint8_t)(i * 13 + 1);
    dma_setup(f, 0x30000, 1024, 0x4A);
    uint8_t res[7];
    /* Cylinder 2, head 1, sectors 5 and 6: LBA (2*2+1)*18 + 4 = 94 and 95. */
    assert_int_equal(rw(f, 0xC5, 2, 1, 5, 18, res), 7);
    expect7(res, 0x04, 0x00, 0x00, 2, 1, 7);
    uint8_t sec[1024];
    assert_int_equal(block_pread(&f->img[0], sec, 1024, 94 * 512), 0);
    assert_memory_equal(sec, f->mem.ram + 0x30000, 1024);
    /* Neighbours untouched, and the data really is in the file. */
    assert_int_equal(block_pread(&f->img[0], sec, 512, 93 * 512), 0);
    for (uint32_t i = 0; i < 512; i++)
        assert_int_equal(sec[i], pattern(93, i));
    assert_int_equal(block_pread(&f->img[0], sec, 512, 96 * 512), 0);
    for (uint32_t i = 0; i < 512; i++)
        assert_int_equal(sec[i], pattern(96, i));
    int fd = open(f->path[0], O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, sec, 512, 95 * 512), 512);
    close(fd);
    assert_memory_equal(sec, f->mem.ram + 0x30200, 512);

    /* TC in the middle of a sector: the rest of it is written as zeros. */
    dma_setup(f, 0x30000, 100, 0x4A);
    assert_int_equal(rw(f, 0xC5, 0, 0, 3, 18, res), 7);
    expect7(res, 0x00, 0x00, 0x00, 0, 0, 4);
    assert_int_equal(block_pread(&f->img[0], sec, 512, 2 * 512), 0);
    assert_memory_equal(sec, f->mem.ram + 0x30000, 100);
    for (uint32_t i = 100; i < 512; i++)
        assert_int_equal(sec[i], 0);
    /* An underrun (channel masked) leaves the sector as it was. */
    out(f, 0x0A, 0x06);
    assert_int_equal(rw(f, 0xC5, 0, 0, 7, 18, res), 7);
    expect7(res, 0x40, 0x10, 0x00, 0, 0, 7);
    assert_int_equal(block_pread(&f->img[0], sec, 512, 6 * 512), 0);
    for (uint32_t i = 0; i < 512; i++)
        assert_int_equal(sec[i], pattern(6, i));
}

static void write_protected(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert(f, 0, SIZE_144, true), 0);
    ready_144(f);
    memset(f->mem.ram + 0x30000, 0xAB, 512);
    dma_setup(f, 0x30000, 512, 0x4A);
    uint8_t res[7];
    assert_int_equal(rw(f, 0xC5, 0, 0, 1, 18, res), 7);
    expect7(res, 0x40, 0x02, 0x00, 0, 0, 1); /* Not Writable */
    assert_int_equal(i8237_remaining(&f->dma, 2), 512);
    uint8_t sec[512];
    assert_int_equal(block_pread(&f->img[0], sec, 512, 0), 0);
    for (uint32_t i = 0; i < 512; i++)
        assert_int_equal(sec[i], pattern(0, i));
    const uint8_t sds[] = {0x04, 0x00};
    cmd(f, sds, 2);
    assert_int_equal(result(f, res, 1), 1);
    assert_int_equal(res[0], 0x78); /* WP, RDY, T0, TS */
    /* FORMAT is refused the same way. */
    const uint8_t fmt[] = {0x4D, 0x00, 2, 18, 0x6C, 0xF6};
    cmd(f, fmt, 6);
    run(f, 1000000);
    assert_int_equal(result(f, res, 7), 7);
    assert_int_equal(res[0], 0x40);
    assert_int_equal(res[1], 0x02);
}

static void write_error_reported(void **state)
{
    struct fixture *f = *state;
    /* A handle that claims to be writable but whose descriptor is read-only: every write
     * fails in the host, which the guest must see. */
    make_image(f->path[0], SIZE_144);
    assert_int_equal(block_open(&f->img[0], f->path[0], true), 0);
    f->img_open[0] = true;
    f->img[0].read_only = false;
    assert_int_equal(fdc_connect_drive(&f->fdc, 0, FDC_DRIVE_1_44M), 0);
    assert_int_equal(fdc_insert(&f->fdc, 0, &f->img[0], false), 0);
    ready_144(f);
    dma_setup(f, 0x30000, 512, 0x4A);
    uint8_t res[7];
    assert_int_equal(rw(f, 0xC5, 0, 0, 1, 18, res), 7);
    expect7(res, 0x50, 0x00, 0x00, 0, 0, 1); /* abnormal, equipment check */
}

static void read_id(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert(f, 0, SIZE_144, false), 0);
    ready_144(f);
    uint8_t res[7];
    const uint8_t rid[] = {0x4A, 0x00};
    cmd(f, rid, 2);
    assert_int_equal(in(f, MSR), 0x10);
    run(f, 1000000);
    assert_true(f->irq_level);
    assert_int_equal(result(f, res, 7), 7);
    expect7(res, 0x00, 0x00, 0x00, 0, 0, 1);
    cmd(f, rid, 2); /* the disk turned on: the next ID */
    run(f, 1000000);
    assert_int_equal(result(f, res, 7), 7);
    expect7(res, 0x00, 0x00, 0x00, 0, 0, 2);
    const uint8_t seek[] = {0x0F, 0x04, 3};
    cmd(f, seek, 3);
    run(f, 1000000);
    sense(f, 0x24, 3);
    const uint8_t rid1[] = {0x4A, 0x04};
    cmd(f, rid1, 2);
    run(f, 1000000);
    assert_int_equal(result(f, res, 7), 7);
    assert_int_equal(res[0], 0x04);
    assert_int_equal(res[3], 3);
    assert_int_equal(res[4], 1);
    assert_int_equal(res[6], 2);
    /* At the wrong data rate nothing is found. */
    out(f, CCR, 0x02);
    cmd(f, rid, 2);
    run(f, 1000000);
    assert_int_equal(result(f, res, 7), 7);
    assert_int_equal(res[0], 0x40);
    assert_int_equal(res[1], 0x01);
}

static void format_track(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert(f, 0, SIZE_144, false), 0);
    ready_144(f);
    const uint8_t seek[] = {0x0F, 0x00, 3};
    cmd(f, seek, 3);
    run(f, 1000000);
    sense(f, 0x20, 3);
    /* IDs with a 2:1 interleave, as some formatters write them. */
    static const uint8_t order[18] = {1, 10, 2, 11, 3, 12, 4, 13, 5, 14, 6, 15, 7, 16, 8, 17, 9, 18};
    for (int i = 0; i < 18; i++) {
        uint8_t id[4] = {3, 0, order[i], 2};
        memcpy(f->mem.ram + 0x40000 + 4 * i, id, 4);
    }
    dma_setup(f, 0x40000, 4 * 18, 0x4A);
    const uint8_t fmt[] = {0x4D, 0x00, 2, 18, 0x6C, 0xF6};
    cmd(f, fmt, 6);
    run(f, 1000000);
    uint8_t res[7];
    assert_int_equal(result(f, res, 7), 7);
    assert_int_equal(res[0], 0x00);
    assert_int_equal(res[1], 0x00);
    assert_int_equal(res[2], 0x00);
    uint8_t sec[512];
    for (uint32_t r = 0; r < 18; r++) {
        assert_int_equal(block_pread(&f->img[0], sec, 512, (3 * 36 + r) * 512), 0);
        for (int i = 0; i < 512; i++)
            assert_int_equal(sec[i], 0xF6);
    }
    assert_int_equal(block_pread(&f->img[0], sec, 512, (3 * 36 + 18) * 512), 0);
    assert_int_equal(sec[0], pattern(3 * 36 + 18, 0)); /* side 1 untouched */
    /* One ID naming another cylinder cannot be stored in a raw image: the whole command is
     * refused before any sector is filled. */
    f->mem.ram[0x40000 + 4 * 17] = 9;
    dma_setup(f, 0x40000, 4 * 18, 0x4A);
    const uint8_t fmt0[] = {0x4D, 0x00, 2, 18, 0x6C, 0x00};
    cmd(f, fmt0, 6);
    run(f, 1000000);
    assert_int_equal(result(f, res, 7), 7);
    assert_int_equal(res[0], 0x40);
    assert_int_equal(res[1], 0x04);
    for (uint32_t r = 0; r < 18; r++) {
        assert_int_equal(block_pread(&f->img[0], sec, 512, (3 * 36 + r) * 512), 0);
        assert_int_equal(sec[0], 0xF6);
    }
    /* Side 0 IDs on side 1, and a duplicated sector number: refused as well. */
    f->mem.ram[0x40000 + 4 * 17] = 3;
    dma_setup(f, 0x40000, 4 * 18, 0x4A);
    const uint8_t fmt1[] = {0x4D, 0x04, 2, 18, 0x6C, 0x00};
    cmd(f, fmt1, 6);
    run(f, 1000000);
    assert_int_equal(result(f, res, 7), 7);
    assert_int_equal(res[0], 0x44);
    assert_int_equal(res[1], 0x04);
    f->mem.ram[0x40000 + 4 * 17 + 2] = 1;
    dma_setup(f, 0x40000, 4 * 18, 0x4A);
    cmd(f, fmt0, 6);
    run(f, 1000000);
    assert_int_equal(result(f, res, 7), 7);
    assert_int_equal(res[0], 0x40);
    assert_int_equal(block_pread(&f->img[0], sec, 512, (3 * 36 + 18) * 512), 0);
    assert_int_equal(sec[0], pattern(3 * 36 + 18, 0));
    /* A sector count that is not the medium's: refused too. */
    const uint8_t fmt2[] = {0x4D, 0x00, 2, 9, 0x6C, 0x00};
    cmd(f, fmt2, 6);
    run(f, 1000000);
    assert_int_equal(result(f, res, 7), 7);
    assert_int_equal(res[0], 0x40);
}

static void non_dma_transfers(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert(f, 0, SIZE_144, false), 0);
    ready_144(f);
    const uint8_t spec[] = {0x03, 0xAF, 0x03}; /* ND: non-DMA */
    cmd(f, spec, 3);
    const uint8_t rd[] = {0x66, 0x00, 0, 0, 17, 2, 18, 0x1B, 0xFF};
    cmd(f, rd, 9);
    run(f, 1000000);
    for (uint32_t lba = 16; lba <= 17; lba++) {
        for (uint32_t i = 0; i < 512; i++) {
            assert_int_equal(in(f, MSR), 0xF0); /* RQM, DIO, NON-DMA, busy */
            assert_true(f->irq_level);          /* an interrupt per byte */
            assert_int_equal(in(f, FIFO), pattern(lba, i));
        }
    }
    uint8_t res[7];
    assert_int_equal(result(f, res, 7), 7);
    expect7(res, 0x40, 0x80, 0x00, 1, 0, 1); /* no TC without DMA: ends at EOT */

    const uint8_t wr[] = {0x45, 0x00, 1, 0, 18, 2, 18, 0x1B, 0xFF};
    cmd(f, wr, 9);
    run(f, 1000000);
    for (uint32_t i = 0; i < 512; i++) {
        assert_int_equal(in(f, MSR), 0xB0); /* RQM, NON-DMA, busy; host to controller */
        out(f, FIFO, (uint8_t)(i ^ 0x3C));
    }
    assert_int_equal(result(f, res, 7), 7);
    expect7(res, 0x40, 0x80, 0x00, 2, 0, 1);
    uint8_t sec[512];
    assert_int_equal(block_pread(&f->img[0], sec, 512, (36 + 17) * 512), 0);
    for (uint32_t i = 0; i < 512; i++)
        assert_int_equal(sec[i], (uint8_t)(i ^ 0x3C));
}

static void disk_change_line(void **state)
{
    struct fixture *f = *state;
    out(f, DOR, 0x1C);
    assert_int_equal(in(f, DIR) & 0x80, 0); /* no drive: never "changed" */
    assert_int_equal(insert(f, 0, SIZE_144, false), 0);
    assert_int_equal(in(f, DIR) & 0x80, 0x80);
    /* A recalibrate that does not move the head leaves it set (no step pulse). */
    const uint8_t recal[] = {0x07, 0x00};
    cmd(f, recal, 2);
    run(f, 1000000);
    sense(f, 0x20, 0);
    assert_int_equal(in(f, DIR) & 0x80, 0x80);
    const uint8_t seek[] = {0x0F, 0x00, 1};
    cmd(f, seek, 3);
    assert_int_equal(in(f, DIR) & 0x80, 0x80); /* not before the seek is done */
    run(f, 1000000);
    sense(f, 0x20, 1);
    assert_int_equal(in(f, DIR) & 0x80, 0);
    fdc_eject(&f->fdc, 0);
    assert_int_equal(in(f, DIR) & 0x80, 0x80);
    /* Stepping with no disk in does not clear it. */
    cmd(f, recal, 2);
    run(f, 1000000);
    sense(f, 0x20, 0);
    assert_int_equal(in(f, DIR) & 0x80, 0x80);
    assert_int_equal(fdc_insert(&f->fdc, 0, &f->img[0], false), 0);
    cmd(f, seek, 3);
    run(f, 1000000);
    sense(f, 0x20, 1);
    assert_int_equal(in(f, DIR) & 0x80, 0);
    /* DIR shows the drive the DOR selects. */
    assert_int_equal(insert(f, 1, SIZE_144, false), 0);
    assert_int_equal(in(f, DIR) & 0x80, 0);
    out(f, DOR, 0x2D);
    assert_int_equal(in(f, DIR) & 0x80, 0x80);
}

static void media_sizes(void **state)
{
    struct fixture *f = *state;
    static const struct { uint32_t size; uint8_t c, h, s; enum fdc_drive_type t; } known[] = {
        {163840, 40, 1, 8, FDC_DRIVE_360K},   {184320, 40, 1, 9, FDC_DRIVE_360K},
        {327680, 40, 2, 8, FDC_DRIVE_360K},   {368640, 40, 2, 9, FDC_DRIVE_360K},
        {737280, 80, 2, 9, FDC_DRIVE_720K},   {1228800, 80, 2, 15, FDC_DRIVE_1_2M},
        {1474560, 80, 2, 18, FDC_DRIVE_1_44M}, {2949120, 80, 2, 36, FDC_DRIVE_2_88M},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        const struct fdc_format *fmt = fdc_format_for_size(known[i].size);
        assert_non_null(fmt);
        assert_int_equal(fmt->cylinders, known[i].c);
        assert_int_equal(fmt->heads, known[i].h);
        assert_int_equal(fmt->sectors, known[i].s);
        assert_int_equal((uint32_t)fmt->cylinders * fmt->heads * fmt->sectors * 512, known[i].size);
        assert_int_equal(fdc_drive_type_for_format(fmt), known[i].t);
    }
    assert_null(fdc_format_for_size(0));
    assert_null(fdc_format_for_size(SIZE_144 + 512));
    /* A wrong-sized image is refused at insert, with a message saying why. */
    assert_int_equal(insert(f, 0, SIZE_144 + 1, false), FDC_ERR_BAD_SIZE);
    assert_non_null(strstr(fdc_strerror(FDC_ERR_BAD_SIZE), "1474560"));
    assert_null(f->fdc.drive[0].media);
    assert_int_equal(in(f, DIR) & 0x80, 0);
    block_close(&f->img[0]);
    f->img_open[0] = false;
    /* 2.88M media in a 1.44M drive, 1.44M in a 360K drive, no drive at all. */
    make_image(f->path[0], 2949120);
    assert_int_equal(block_open(&f->img[0], f->path[0], true), 0);
    f->img_open[0] = true;
    assert_int_equal(fdc_insert(&f->fdc, 0, &f->img[0], false), FDC_ERR_NO_FIT);
    assert_int_equal(fdc_connect_drive(&f->fdc, 0, FDC_DRIVE_2_88M), 0);
    assert_int_equal(fdc_insert(&f->fdc, 0, &f->img[0], false), 0);
    assert_int_equal(fdc_insert(&f->fdc, 2, &f->img[0], false), FDC_ERR_NO_DRIVE);
    assert_int_equal(fdc_insert(&f->fdc, 9, &f->img[0], false), FDC_ERR_NO_DRIVE);
    assert_int_equal(fdc_connect_drive(&f->fdc, 4, FDC_DRIVE_1_44M), FDC_ERR_NO_DRIVE);
    assert_int_equal(fdc_connect_drive(&f->fdc, 1, (enum fdc_drive_type)9), FDC_ERR_NO_DRIVE);
    /* 2.88M reads at 1 Mbps. */
    out(f, DOR, 0x1C);
    out(f, CCR, 0x03);
    dma_setup(f, 0x10000, 512, 0x46);
    uint8_t res[7];
    assert_int_equal(rw(f, 0xE6, 79, 1, 36, 36, res), 7);
    expect7(res, 0x04, 0x00, 0x00, 80, 0, 1);
    assert_sector(f, 0x10000, 2949120 / 512 - 1);
    /* Swapping in a drive type that cannot take the disk ejects it (and flags the change). */
    assert_int_equal(fdc_connect_drive(&f->fdc, 0, FDC_DRIVE_1_44M), 0);
    assert_null(f->fdc.drive[0].media);
    assert_int_equal(in(f, DIR) & 0x80, 0x80);
}

static void five_and_a_quarter(void **state)
{
    struct fixture *f = *state;
    /* A 360K disk reads at 300 kbps (1.2M drive) and at 250 kbps (360K drive). */
    assert_int_equal(insert(f, 0, 368640, false), 0);
    out(f, DOR, 0x1C);
    uint8_t res[7];
    for (uint8_t rate = 1; rate <= 2; rate++) {
        out(f, CCR, rate);
        dma_setup(f, 0x10000, 512, 0x46);
        assert_int_equal(rw(f, 0xE6, 39, 1, 9, 9, res), 7);
        expect7(res, 0x04, 0x00, 0x00, 40, 0, 1);
        assert_sector(f, 0x10000, 368640 / 512 - 1);
    }
    out(f, CCR, 0);
    assert_int_equal(rw(f, 0xE6, 0, 0, 1, 9, res), 7);
    assert_int_equal(res[1], 0x01);
    /* Single-sided 180K: side 1 has no IDs. */
    fdc_eject(&f->fdc, 0);
    block_close(&f->img[0]);
    f->img_open[0] = false;
    assert_int_equal(insert(f, 0, 184320, false), 0);
    out(f, CCR, 2);
    dma_setup(f, 0x10000, 1024, 0x46);
    assert_int_equal(rw(f, 0xE6, 3, 1, 1, 9, res), 7);
    assert_int_equal(res[0], 0x44);
    assert_int_equal(res[1], 0x01);
    /* MT on a single-sided disk ends the cylinder after side 0. */
    assert_int_equal(rw(f, 0xE6, 3, 0, 9, 9, res), 7);
    assert_int_equal(res[0], 0x40);
    assert_int_equal(res[1], 0x80);
    assert_sector(f, 0x10000, 3 * 9 + 8);
}

static void save_load_round_trip(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert(f, 0, SIZE_144, false), 0);
    ready_144(f);
    /* Mid-flight: a seek under way on drive 0 and a READ ID result half read. */
    const uint8_t rid[] = {0x4A, 0x00};
    cmd(f, rid, 2);
    run(f, 1000000);
    uint8_t a[3];
    for (int i = 0; i < 3; i++)
        a[i] = in(f, FIFO);
    (void)a;
    uint8_t buf[2048];
    size_t n = device_save(&f->fdc.dev, buf, sizeof(buf));
    assert_true(n <= sizeof(buf));

    struct fixture *g;
    assert_int_equal(setup((void **)&g), 0);
    g->clock.now = f->clock.now;
    assert_int_equal(fdc_connect_drive(&g->fdc, 0, FDC_DRIVE_1_44M), 0);
    assert_int_equal(fdc_insert(&g->fdc, 0, &f->img[0], false), 0);
    assert_int_equal(device_load(&g->fdc.dev, buf, n), 0);
    uint8_t again[2048];
    assert_int_equal(device_save(&g->fdc.dev, again, sizeof(again)), n);
    assert_memory_equal(again, buf, n);
    /* Both continue identically: the rest of the result... */
    for (int i = 0; i < 4; i++)
        assert_int_equal(in(g, FIFO), in(f, FIFO));
    assert_int_equal(in(g, MSR), 0x80);
    /* ...and a seek that is in flight when saved completes after loading. */
    const uint8_t seek[] = {0x0F, 0x00, 7};
    cmd(f, seek, 3);
    run(f, 10000);
    n = device_save(&f->fdc.dev, buf, sizeof(buf));
    g->clock.now = f->clock.now;
    assert_int_equal(device_load(&g->fdc.dev, buf, n), 0);
    assert_int_equal(in(g, MSR), 0x81);
    run(g, 1000000);
    run(f, 1000000);
    assert_true(g->irq_level);
    sense(g, 0x20, 7);
    sense(f, 0x20, 7);

    /* Malformed states are refused, leaving the controller reset. */
    assert_int_equal(device_load(&g->fdc.dev, buf, n - 1), -1);
    assert_int_equal(in(g, DOR), 0x0C);
    uint8_t bad[2048];
    memcpy(bad, buf, n);
    bad[6 + 3] = 9; /* phase */
    assert_int_equal(device_load(&g->fdc.dev, bad, n), -1);
    memcpy(bad, buf, n);
    bad[6 + 4 + 9] = 10; /* cmd_len past the buffer */
    assert_int_equal(device_load(&g->fdc.dev, bad, n), -1);
    memcpy(bad, buf, n);
    bad[6 + 4 + 9 + 2 + 10] = 11; /* res_len */
    assert_int_equal(device_load(&g->fdc.dev, bad, n), -1);
    teardown((void **)&g);
}

/* Hostile traffic with disks in: valid opcodes with random parameters (so commands get deep
 * into execution), random DMA programming, and raw noise on every port. Nothing may crash,
 * grow an image or touch the write-protected one; everything runs under Asan in CI. */
static uint32_t rnd(uint32_t *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 8;
}

static uint8_t small(uint32_t *x, uint8_t usual_max)
{
    uint32_t r = rnd(x);
    return (r & 7) ? (uint8_t)((r >> 3) % (usual_max + 1u)) : (uint8_t)(r >> 3);
}

static void hostile_guest(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert(f, 0, SIZE_144, false), 0);
    assert_int_equal(insert(f, 1, 368640, true), 0);
    static const uint8_t opcodes[] = {0x06, 0x05, 0x0A, 0x0D, 0x07, 0x08, 0x03, 0x04, 0x0F,
                                      0x8F, 0x13, 0x10, 0x0E, 0x12, 0x14};
    static const uint8_t lens[] = {9, 9, 2, 6, 2, 1, 3, 2, 3, 3, 4, 1, 1, 2, 1};
    unsigned finished = 0, good_transfers = 0;
    uint32_t x = 12345;
    out(f, DOR, 0x1C);
    for (int i = 0; i < 20000; i++) {
        uint32_t r = rnd(&x);
        switch (r % 8) {
        case 0: { /* DMA channel 2 anywhere, any mode */
            uint32_t phys = rnd(&x) & 0xFFFFFF;
            dma_setup(f, phys, 1 + rnd(&x) % 20000, (uint8_t)((rnd(&x) & 0xFC) | 2));
            break;
        }
        case 1: /* a rate, usually one of the two disks' */
            out(f, CCR, (uint8_t)((r >> 8) % 4 ? (r >> 10) % 3 : r >> 12));
            break;
        case 2: /* raw noise */
            out(f, (uint16_t)(0x3F2 + (r >> 8) % 6), (uint8_t)(r >> 16));
            break;
        case 3:
            (void)in(f, (uint16_t)(0x3F2 + (r >> 8) % 6));
            break;
        default: { /* a whole command, then time, then whatever results there are */
            unsigned k = (r >> 8) % sizeof(opcodes);
            uint8_t c[9];
            c[0] = (uint8_t)(opcodes[k] | ((r >> 16) & 0xE0 & ~(opcodes[k] == 0x8F ? 0x80 : 0)));
            if (opcodes[k] == 0x05 || opcodes[k] == 0x0A || opcodes[k] == 0x0D)
                c[0] = (uint8_t)((c[0] & 0xC0) | opcodes[k]);
            if (opcodes[k] <= 0x0D && rnd(&x) % 8)
                c[0] |= 0x40; /* MFM, mostly */
            c[1] = small(&x, 1);
            if (rnd(&x) % 4 == 0)
                c[1] = (uint8_t)(c[1] | (rnd(&x) & 4) | (rnd(&x) & 3));
            c[2] = small(&x, (c[1] & 3) == 1 ? 42 : 82);
            if (rnd(&x) % 4) /* the unit's own data rate, mostly */
                out(f, CCR, (c[1] & 3) == 1 ? (uint8_t)(1 + rnd(&x) % 2) : 0);
            c[3] = small(&x, 1);
            c[4] = small(&x, 19);
            c[5] = (rnd(&x) & 7) ? 2 : (uint8_t)rnd(&x);
            c[6] = small(&x, 19);
            c[7] = (uint8_t)rnd(&x);
            c[8] = (uint8_t)rnd(&x);
            if (opcodes[k] == 0x0D) {
                c[2] = (rnd(&x) & 3) ? 2 : (uint8_t)rnd(&x);
                c[3] = (rnd(&x) & 1) ? 18 : (uint8_t)rnd(&x);
            }
            if (opcodes[k] == 0x03)
                c[2] = (uint8_t)(c[2] & 0xFE) | (rnd(&x) % 8 == 0); /* non-DMA sometimes */
            if ((k == 0 || k == 1 || k == 3) && rnd(&x) % 2) /* a fitting DMA setup */
                dma_setup(f, rnd(&x) % RAM_SIZE, 1 + rnd(&x) % 12000, k == 0 ? 0x46 : 0x4A);
            for (unsigned b = 0; b < lens[k] && (in(f, MSR) & 0xC0) == 0x80; b++)
                out(f, FIFO, c[b]);
            run(f, 200000);
            /* Non-DMA data phases: move some bytes either way. */
            for (unsigned n = 0; n < 2000 && (in(f, MSR) & 0xA0) == 0xA0; n++) {
                if (in(f, MSR) & 0x40)
                    (void)in(f, FIFO);
                else
                    out(f, FIFO, (uint8_t)rnd(&x));
            }
            uint8_t res[10];
            unsigned nres = 0;
            while ((in(f, MSR) & 0xD0) == 0xD0 && nres < 10)
                res[nres++] = in(f, FIFO);
            if (nres == 7) {
                finished++;
                if (!(res[0] & 0xC0))
                    good_transfers++;
            }
            break;
        }
        }
    }
    /* The run reached real transfers, not only early rejections. */
    assert_true(finished > 500);
    assert_true(good_transfers > 100);
    struct stat st;
    assert_int_equal(stat(f->path[0], &st), 0);
    assert_int_equal(st.st_size, SIZE_144);
    assert_int_equal(stat(f->path[1], &st), 0);
    assert_int_equal(st.st_size, 368640);
    uint8_t sec[512];
    for (uint32_t lba = 0; lba < 368640 / 512; lba++) {
        assert_int_equal(block_pread(&f->img[1], sec, 512, lba * 512), 0);
        for (uint32_t i = 0; i < 512; i++)
            if (sec[i] != pattern(lba, i))
                fail_msg("write-protected disk changed at LBA %u", lba);
    }
}

static void block_backend(void **state)
{
    struct fixture *f = *state;
    struct block_dev b, c;
    assert_int_equal(block_open(&b, "/nonexistent/bt86.img", true), -ENOENT);
    assert_int_equal(block_open(&b, f->dir, true), -EISDIR);
    make_image(f->path[0], 4096 + 100);
    assert_int_equal(block_open(&b, f->path[0], false), 0);
    assert_int_equal(block_size(&b), 4196);
    /* A second writer is locked out; so is a reader while a writer holds it. */
    assert_int_equal(block_open(&c, f->path[0], false), -EBUSY);
    assert_int_equal(block_open(&c, f->path[0], true), -EBUSY);
    uint8_t buf[200];
    assert_int_equal(block_pread(&b, buf, 100, 4096), 0);
    assert_int_equal(buf[0], 0x33);
    assert_int_equal(block_pread(&b, buf, 101, 4096), -EINVAL);
    assert_int_equal(block_pread(&b, buf, 1, UINT64_MAX), -EINVAL);
    assert_int_equal(block_pwrite(&b, buf, 200, 3996), 0);
    assert_int_equal(block_pwrite(&b, buf, 200, 4097), -EINVAL);
    assert_int_equal(block_flush(&b), 0);
    block_close(&b);
    struct stat st;
    assert_int_equal(stat(f->path[0], &st), 0);
    assert_int_equal(st.st_size, 4196); /* never grown */
    assert_int_equal(block_open(&b, f->path[0], true), 0);
    assert_int_equal(block_open(&c, f->path[0], true), 0); /* readers share */
    assert_int_equal(block_pwrite(&b, buf, 1, 0), -EROFS);
    assert_true(block_is_read_only(&b));
    block_close(&c);
    block_close(&b);
    assert_int_equal(block_pread(&b, buf, 1, 0), -EINVAL); /* closed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reset_and_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(version_specify_configure, setup, teardown),
        cmocka_unit_test_setup_teardown(recalibrate_seek_sense, setup, teardown),
        cmocka_unit_test_setup_teardown(read_one_sector, setup, teardown),
        cmocka_unit_test_setup_teardown(read_multi_track, setup, teardown),
        cmocka_unit_test_setup_teardown(read_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(seabios_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(dma_gate_off, setup, teardown),
        cmocka_unit_test_setup_teardown(write_sectors, setup, teardown),
        cmocka_unit_test_setup_teardown(write_protected, setup, teardown),
        cmocka_unit_test_setup_teardown(write_error_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(read_id, setup, teardown),
        cmocka_unit_test_setup_teardown(format_track, setup, teardown),
        cmocka_unit_test_setup_teardown(non_dma_transfers, setup, teardown),
        cmocka_unit_test_setup_teardown(disk_change_line, setup, teardown),
        cmocka_unit_test_setup_teardown(media_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(five_and_a_quarter, setup, teardown),
        cmocka_unit_test_setup_teardown(save_load_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_guest, setup, teardown),
        cmocka_unit_test_setup_teardown(block_backend, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
