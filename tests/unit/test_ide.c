/* Unit tests of the PIIX3 IDE hard disk side (devices/ide.c) through its ports, with the
 * expected values worked out by hand from ATA/ATAPI-6 and the PIIX3 datasheet: IDENTIFY
 * words, PIO reads and writes with their BSY/DRQ/IRQ sequence, LBA28/LBA48/CHS addressing,
 * errors (IDNF, ABRT, host I/O failure), SRST, bus master DMA with PRD tables (scatter, short
 * and long tables, 64 KiB wrap, bus errors), the PCI function, and save/load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "ide_fixture.h"

#define SECTORS_10M (10u * 1024 * 1024 / 512) /* 20480 */

static int setup_disk(void **state)
{
    struct fx *f = fx_new();
    if (!f)
        return -1;
    int k = fx_image(f, SECTORS_10M, 512, false);
    if (k < 0 || ide_attach_disk(&f->ide, 0, 0, &f->img[k], NULL))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

/* Sets LBA28 address and count and issues cmd on the primary master. */
static void lba28_cmd(struct fx *f, uint32_t lba, uint8_t count, uint8_t cmd)
{
    outb(f, PRI + 6, (uint8_t)(0xE0 | ((lba >> 24) & 0x0F)));
    outb(f, PRI + 2, count);
    outb(f, PRI + 3, (uint8_t)lba);
    outb(f, PRI + 4, (uint8_t)(lba >> 8));
    outb(f, PRI + 5, (uint8_t)(lba >> 16));
    outb(f, PRI + 7, cmd);
}

static void lba48_cmd(struct fx *f, uint64_t lba, uint16_t count, uint8_t cmd)
{
    outb(f, PRI + 6, 0x40);
    outb(f, PRI + 2, (uint8_t)(count >> 8));
    outb(f, PRI + 3, (uint8_t)(lba >> 24));
    outb(f, PRI + 4, (uint8_t)(lba >> 32));
    outb(f, PRI + 5, (uint8_t)(lba >> 40));
    outb(f, PRI + 2, (uint8_t)count);
    outb(f, PRI + 3, (uint8_t)lba);
    outb(f, PRI + 4, (uint8_t)(lba >> 8));
    outb(f, PRI + 5, (uint8_t)(lba >> 16));
    outb(f, PRI + 7, cmd);
}

static void read_identify(struct fx *f, uint16_t *w)
{
    outb(f, PRI + 6, 0xA0);
    outb(f, PRI + 7, 0xEC);
    assert_int_equal(inb(f, PRI_CTL), ATA_ST_BSY);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x58);
    for (int i = 0; i < 256; i++)
        w[i] = inw(f, PRI);
    assert_int_equal(inb(f, PRI + 7), 0x50);
}

static void expect_sector(struct fx *f, uint16_t port, uint64_t lba)
{
    for (unsigned i = 0; i < 512; i += 2) {
        uint16_t w = inw(f, port);
        if (w != (pat(lba, i) | pat(lba, i + 1) << 8))
            fail_msg("sector %llu word %u: %04x", (unsigned long long)lba, i / 2, w);
    }
}

static void identify_10mib(void **state)
{
    struct fx *f = *state;
    uint16_t w[256];
    read_identify(f, w);
    assert_int_equal(w[0], 0x0040);
    /* 20480 sectors: 16 heads of 63 sectors give 20 whole cylinders. */
    assert_int_equal(w[1], 20);
    assert_int_equal(w[3], 16);
    assert_int_equal(w[6], 63);
    assert_int_equal(w[54], 20);
    assert_int_equal(w[55], 16);
    assert_int_equal(w[56], 63);
    assert_int_equal(w[57] | w[58] << 16, 20 * 16 * 63);
    /* Words 60-61: all 20480 sectors through LBA. */
    assert_int_equal(w[60], 20480);
    assert_int_equal(w[61], 0);
    assert_int_equal(w[100], 20480);
    assert_int_equal(w[101] | w[102] | w[103], 0);
    assert_true(w[49] & 0x0200); /* LBA */
    assert_true(w[49] & 0x0100); /* DMA */
    assert_int_equal(w[83] & 0xC400, 0x4400); /* 48-bit feature set, valid */
    assert_int_equal(w[86] & 0x0400, 0x0400);
    assert_int_equal(w[47], 0x8010);
    assert_int_equal(w[63] & 0x07, 0x07);
    assert_int_equal(w[88] & 0x3F, 0x3F);
    /* Model "BT86 HARDDISK" with the first character of each pair in the high byte. */
    assert_int_equal(w[27], 'B' << 8 | 'T');
    assert_int_equal(w[28], '8' << 8 | '6');
    assert_int_equal(w[29], ' ' << 8 | 'H');
    assert_int_equal(w[33], 'K' << 8 | ' ');
    assert_int_equal(w[46], ' ' << 8 | ' ');
    /* Integrity word: signature A5h, all 512 bytes sum to 0 mod 256. */
    assert_int_equal(w[255] & 0xFF, 0xA5);
    uint8_t sum = 0;
    for (int i = 0; i < 256; i++)
        sum = (uint8_t)(sum + (w[i] & 0xFF) + (w[i] >> 8));
    assert_int_equal(sum, 0);
    assert_int_equal(f->rises[0], 1);
}

static void read_sectors_pio(void **state)
{
    struct fx *f = *state;
    lba28_cmd(f, 5, 1, 0x20);
    /* BSY first, nothing else valid, no interrupt yet. */
    assert_int_equal(inb(f, PRI_CTL), ATA_ST_BSY);
    assert_false(f->irq[0]);
    assert_int_equal(inw(f, PRI), 0xFFFF); /* no DRQ: the data port gives nothing */
    settle(f);
    /* DRQ with DRDY|DSC, interrupt asserted; the alternate status does not acknowledge it. */
    assert_true(f->irq[0]);
    assert_int_equal(inb(f, PRI_CTL), 0x58);
    assert_true(f->irq[0]);
    assert_int_equal(inb(f, PRI + 7), 0x58);
    assert_false(f->irq[0]);
    expect_sector(f, PRI, 5);
    /* Data-in ends without another interrupt. */
    assert_int_equal(inb(f, PRI + 7), 0x50);
    assert_int_equal(f->rises[0], 1);
    /* The task file holds the last sector transferred, count 0. */
    assert_int_equal(inb(f, PRI + 3), 5);
    assert_int_equal(inb(f, PRI + 2), 0);

    /* Two sectors with 32-bit data port reads: one interrupt per block. */
    lba28_cmd(f, 100, 2, 0x21);
    for (uint32_t s = 100; s < 102; s++) {
        settle(f);
        assert_int_equal(inb(f, PRI + 7), 0x58);
        for (unsigned i = 0; i < 512; i += 4) {
            uint32_t v = inl(f, PRI);
            uint32_t want = pat(s, i) | pat(s, i + 1) << 8 | pat(s, i + 2) << 16 |
                            (uint32_t)pat(s, i + 3) << 24;
            assert_int_equal(v, want);
        }
    }
    assert_int_equal(inb(f, PRI + 7), 0x50);
    assert_int_equal(f->rises[0], 3);
}

static void read_multiple_and_chs(void **state)
{
    struct fx *f = *state;
    /* READ MULTIPLE before SET MULTIPLE MODE is aborted. */
    lba28_cmd(f, 0, 1, 0xC4);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x51);
    assert_int_equal(inb(f, PRI + 1), ATA_ERR_ABRT);
    /* Block size 3 is not a power of two; 4 is taken. */
    outb(f, PRI + 2, 3);
    outb(f, PRI + 7, 0xC6);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x51);
    outb(f, PRI + 2, 4);
    outb(f, PRI + 7, 0xC6);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x50);
    /* Six sectors come as a block of four and a block of two. */
    int rises = f->rises[0];
    lba28_cmd(f, 40, 6, 0xC4);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x58);
    for (unsigned s = 40; s < 44; s++)
        expect_sector(f, PRI, s);
    assert_int_equal(inb(f, PRI_CTL), ATA_ST_BSY);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x58);
    expect_sector(f, PRI, 44);
    expect_sector(f, PRI, 45);
    assert_int_equal(inb(f, PRI + 7), 0x50);
    assert_int_equal(f->rises[0], rises + 2);
    uint16_t w[256];
    read_identify(f, w);
    assert_int_equal(w[59], 0x0104);

    /* CHS: cylinder 1, head 2, sector 3 of 16x63 is LBA (1*16 + 2)*63 + 2 = 1136. */
    outb(f, PRI + 6, 0xA2);
    outb(f, PRI + 2, 1);
    outb(f, PRI + 3, 3);
    outb(f, PRI + 4, 1);
    outb(f, PRI + 5, 0);
    outb(f, PRI + 7, 0x20);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x58);
    expect_sector(f, PRI, 1136);
    /* Sector 0 does not exist in CHS terms. */
    outb(f, PRI + 3, 0);
    outb(f, PRI + 7, 0x20);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x51);
    assert_int_equal(inb(f, PRI + 1), ATA_ERR_IDNF);

    /* INITIALIZE DEVICE PARAMETERS 4 heads x 17 sectors: C0/H1/S1 is LBA 17. */
    outb(f, PRI + 6, 0xA3);
    outb(f, PRI + 2, 17);
    outb(f, PRI + 7, 0x91);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x50);
    read_identify(f, w);
    assert_int_equal(w[54], 20480 / 68);
    assert_int_equal(w[55], 4);
    assert_int_equal(w[56], 17);
    outb(f, PRI + 6, 0xA1);
    outb(f, PRI + 2, 1);
    outb(f, PRI + 3, 1);
    outb(f, PRI + 4, 0);
    outb(f, PRI + 5, 0);
    outb(f, PRI + 7, 0x20);
    settle(f);
    expect_sector(f, PRI, 17);
}

static void write_sectors_to_file(void **state)
{
    struct fx *f = *state;
    /* Two sectors at LBA 3: the first block is asked for at once, without an interrupt. */
    lba28_cmd(f, 3, 2, 0x30);
    assert_int_equal(inb(f, PRI_CTL), 0x58);
    assert_false(f->irq[0]);
    for (unsigned i = 0; i < 256; i++)
        outw(f, PRI, (uint16_t)(0xA000 + i));
    assert_int_equal(inb(f, PRI_CTL), ATA_ST_BSY);
    settle(f);
    assert_true(f->irq[0]);
    assert_int_equal(inb(f, PRI + 7), 0x58);
    for (unsigned i = 0; i < 128; i++)
        outl(f, PRI, 0xB0000000u + i);
    settle(f);
    assert_true(f->irq[0]);
    assert_int_equal(inb(f, PRI + 7), 0x50);
    assert_int_equal(inb(f, PRI + 3), 4); /* last sector written */

    /* The file has it, and its neighbours are untouched. */
    int fd = open(f->path[0], O_RDONLY);
    assert_true(fd >= 0);
    uint8_t b[4 * 512];
    assert_int_equal(pread(fd, b, sizeof(b), 2 * 512), (ssize_t)sizeof(b));
    close(fd);
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(b[i], pat(2, i));
    for (unsigned i = 0; i < 256; i++) {
        assert_int_equal(b[512 + 2 * i] | b[512 + 2 * i + 1] << 8, 0xA000 + i);
        uint32_t v = (uint32_t)b[1024 + 2 * i] | (uint32_t)b[1024 + 2 * i + 1] << 8;
        assert_int_equal(v, i & 1 ? 0xB000 : (i / 2) & 0xFFFF);
    }
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(b[1536 + i], pat(5, i));

    /* Read back through the device, and FLUSH CACHE succeeds. */
    lba28_cmd(f, 3, 1, 0x20);
    settle(f);
    for (unsigned i = 0; i < 256; i++)
        assert_int_equal(inw(f, PRI), 0xA000 + i);
    outb(f, PRI + 7, 0xE7);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x50);
}

static void out_of_range(void **state)
{
    struct fx *f = *state;
    /* LBA 20480 is one past the end. */
    lba28_cmd(f, SECTORS_10M, 1, 0x20);
    settle(f);
    assert_true(f->irq[0]);
    assert_int_equal(inb(f, PRI + 7), ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_ERR);
    assert_int_equal(inb(f, PRI + 1), ATA_ERR_IDNF);
    assert_int_equal(inw(f, PRI), 0xFFFF);
    /* A run that starts inside and ends outside, reading and writing, LBA28 and LBA48. */
    lba28_cmd(f, SECTORS_10M - 1, 2, 0x20);
    settle(f);
    assert_int_equal(inb(f, PRI + 1), ATA_ERR_IDNF);
    /* The error address is the first missing sector: 20480 = 0x005000. */
    assert_int_equal(inb(f, PRI + 3), 0x00);
    assert_int_equal(inb(f, PRI + 4), 0x50);
    lba28_cmd(f, SECTORS_10M - 1, 2, 0x30);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x51);
    assert_int_equal(inb(f, PRI + 1), ATA_ERR_IDNF);
    lba48_cmd(f, 0xFFFFFFFFFFFFull, 1, 0x24);
    settle(f);
    assert_int_equal(inb(f, PRI + 1), ATA_ERR_IDNF);
    lba48_cmd(f, 0, 0, 0x24); /* count 0 means 65536 sectors: more than there are */
    settle(f);
    assert_int_equal(inb(f, PRI + 1), ATA_ERR_IDNF);
    /* An unknown command is aborted. */
    outb(f, PRI + 7, 0xFF);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x51);
    assert_int_equal(inb(f, PRI + 1), ATA_ERR_ABRT);
    /* The image file still has its size: nothing was written past the end. */
    int fd = open(f->path[0], O_RDONLY);
    assert_int_equal(lseek(fd, 0, SEEK_END), SECTORS_10M * 512);
    close(fd);
}

static void lba48_and_hob(void **state)
{
    struct fx *f = *state;
    lba48_cmd(f, 0x1234, 2, 0x24);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x58);
    expect_sector(f, PRI, 0x1234);
    settle(f);
    expect_sector(f, PRI, 0x1235);
    assert_int_equal(inb(f, PRI + 7), 0x50);
    /* The register FIFO: HOB set in device control reads the previous (high) bytes. */
    outb(f, PRI + 3, 0x11);
    outb(f, PRI + 3, 0x22);
    assert_int_equal(inb(f, PRI + 3), 0x22);
    outb(f, PRI_CTL, ATA_CTL_HOB);
    assert_int_equal(inb(f, PRI + 3), 0x11);
    /* Writing a register clears HOB. */
    outb(f, PRI + 4, 0x33);
    assert_int_equal(inb(f, PRI + 3), 0x22);
}

static void big_sparse_disk(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    assert_non_null(f);
    /* 2^28 + 1000 sectors: LBA28 tops out at 0FFFFFFFh, LBA48 reaches the rest. */
    uint64_t sectors = (1ull << 28) + 1000;
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(f->path[0], sizeof(f->path[0]), "%s/bt86-ide-XXXXXX", dir);
    int fd = mkstemp(f->path[0]);
    assert_true(fd >= 0);
    f->nimg = 1;
    if (ftruncate(fd, (off_t)(sectors * 512)) < 0) {
        close(fd);
        fx_free(f);
        skip(); /* no sparse files here */
    }
    uint8_t mark[512];
    memset(mark, 0x5A, sizeof(mark));
    assert_int_equal(pwrite(fd, mark, 512, (off_t)((sectors - 1) * 512)), 512);
    close(fd);
    assert_int_equal(block_open(&f->img[0], f->path[0], false), 0);
    assert_int_equal(ide_attach_disk(&f->ide, 0, 0, &f->img[0], NULL), 0);
    uint16_t w[256];
    read_identify(f, w);
    assert_int_equal(w[1], 16383);
    assert_int_equal(w[60] | w[61] << 16, 0x0FFFFFFF);
    assert_int_equal(w[100] | (uint64_t)w[101] << 16 | (uint64_t)w[102] << 32, sectors);
    lba48_cmd(f, sectors - 1, 1, 0x24);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x58);
    assert_int_equal(inw(f, PRI), 0x5A5A);
    fx_free(f);
}

static void read_only_image(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    assert_non_null(f);
    int k = fx_image(f, 64, 512, true);
    assert_int_equal(k, 0);
    assert_int_equal(ide_attach_disk(&f->ide, 0, 0, &f->img[k], NULL), 0);
    /* WRITE SECTORS, WRITE MULTIPLE, WRITE DMA: aborted before any data is asked for. */
    static const uint8_t cmds[] = {0x30, 0xC5, 0xCA};
    outb(f, PRI + 2, 1);
    outb(f, PRI + 7, 0xC6);
    settle(f);
    for (unsigned i = 0; i < sizeof(cmds); i++) {
        lba28_cmd(f, 1, 1, cmds[i]);
        settle(f);
        assert_int_equal(inb(f, PRI + 7), 0x51);
        assert_int_equal(inb(f, PRI + 1), ATA_ERR_ABRT);
        outw(f, PRI, 0x1234); /* not taken */
    }
    /* Reads work. */
    lba28_cmd(f, 1, 1, 0x20);
    settle(f);
    expect_sector(f, PRI, 1);
    uint8_t b[512];
    int fd = open(f->path[0], O_RDONLY);
    assert_int_equal(pread(fd, b, 512, 512), 512);
    close(fd);
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(b[i], pat(1, i));
    fx_free(f);
}

static void host_io_error(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    assert_non_null(f);
    int k = fx_image(f, 64, 512, false);
    assert_int_equal(ide_attach_disk(&f->ide, 0, 0, &f->img[k], NULL), 0);
    /* The file shrinks behind the VM's back: reading past its new end fails on the host. */
    assert_int_equal(truncate(f->path[k], 10 * 512), 0);
    lba28_cmd(f, 20, 1, 0x20);
    settle(f);
    assert_true(f->irq[0]);
    assert_int_equal(inb(f, PRI + 7), 0x51);
    assert_int_equal(inb(f, PRI + 1), ATA_ERR_UNC);
    assert_int_equal(inb(f, PRI + 3), 20); /* the failing sector */
    fx_free(f);
}

static void srst_and_signature(void **state)
{
    struct fx *f = *state;
    lba28_cmd(f, 7, 1, 0x20);
    settle(f);
    assert_int_equal(inb(f, PRI_CTL), 0x58);
    outb(f, PRI_CTL, ATA_CTL_SRST);
    assert_int_equal(inb(f, PRI_CTL), ATA_ST_BSY);
    outb(f, PRI + 7, 0xEC); /* ignored while in reset */
    outb(f, PRI_CTL, 0);
    /* ATA signature: count 1, sector 1, cylinder 0000h, diagnostic code 01h, DRDY. */
    assert_int_equal(inb(f, PRI + 7), 0x50);
    assert_int_equal(inb(f, PRI + 1), 0x01);
    assert_int_equal(inb(f, PRI + 2), 0x01);
    assert_int_equal(inb(f, PRI + 3), 0x01);
    assert_int_equal(inb(f, PRI + 4), 0x00);
    assert_int_equal(inb(f, PRI + 5), 0x00);
    assert_int_equal(inb(f, PRI + 6) & 0x10, 0);
    assert_int_equal(inw(f, PRI), 0xFFFF); /* the interrupted read is gone */
    assert_false(f->irq[0]);

    /* Absent slave: zeros; absent channel: the floating bus. */
    outb(f, PRI + 6, 0xB0);
    assert_int_equal(inb(f, PRI + 7), 0x00);
    assert_int_equal(inb(f, PRI_CTL), 0x00);
    outb(f, PRI + 7, 0xEC); /* nobody answers */
    outb(f, PRI + 6, 0xA0);
    assert_int_equal(inb(f, PRI + 7), 0x50);
    assert_int_equal(inb(f, SEC + 7), 0xFF);
    assert_int_equal(inb(f, SEC_CTL), 0xFF);

    /* EXECUTE DEVICE DIAGNOSTIC interrupts with code 01h. */
    outb(f, PRI + 7, 0x90);
    settle(f);
    assert_true(f->irq[0]);
    assert_int_equal(inb(f, PRI + 1), 0x01);
    assert_int_equal(inb(f, PRI + 7), 0x50);

    /* nIEN keeps INTRQ off the line; clearing it lets a pending one through. */
    outb(f, PRI_CTL, ATA_CTL_NIEN);
    outb(f, PRI + 7, 0xE5);
    settle(f);
    assert_false(f->irq[0]);
    assert_int_equal(inb(f, PRI + 2), 0xFF); /* CHECK POWER MODE: active */
    outb(f, PRI_CTL, 0);
    assert_true(f->irq[0]);
    (void)inb(f, PRI + 7);
    assert_false(f->irq[0]);
}

/* ---- bus master DMA ---- */

static void read_dma_scatter(void **state)
{
    struct fx *f = *state;
    uint8_t zero[0x2000] = {0};
    memmap_copy_to(&f->mem, 0x3000, zero, sizeof(zero));
    memmap_copy_to(&f->mem, 0x9000, zero, sizeof(zero));
    /* Sectors 7 and 8 into two separate buffers. */
    prd(f, 0x1000, 0x3000, 512, false);
    prd(f, 0x1008, 0x9000, 512, true);
    outl(f, BM + BM_PRD, 0x1000);
    outb(f, BM + BM_STATUS, BM_ST_INT | BM_ST_ERROR);
    outb(f, BM + BM_CMD, BM_CMD_WRITE);
    lba28_cmd(f, 7, 2, 0xC8);
    settle(f);
    /* The device waits for the bus master with DRQ; no interrupt. */
    assert_int_equal(inb(f, PRI_CTL), 0x58);
    assert_false(f->irq[0]);
    outb(f, BM + BM_CMD, BM_CMD_WRITE | BM_CMD_START);
    /* The table was exactly as long as the transfer: Active is already off. */
    assert_int_equal(inb(f, BM + BM_STATUS) & (BM_ST_ACTIVE | BM_ST_INT), 0);
    assert_int_equal(inb(f, PRI_CTL), ATA_ST_BSY);
    settle(f);
    assert_true(f->irq[0]);
    assert_int_equal(inb(f, BM + BM_STATUS), BM_ST_INT);
    assert_int_equal(inb(f, PRI + 7), 0x50);
    outb(f, BM + BM_CMD, 0);
    outb(f, BM + BM_STATUS, BM_ST_INT);
    assert_int_equal(inb(f, BM + BM_STATUS), 0);

    uint8_t b[512 + 16];
    memmap_copy_from(&f->mem, 0x3000, b, sizeof(b));
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(b[i], pat(7, i));
    for (unsigned i = 512; i < sizeof(b); i++)
        assert_int_equal(b[i], 0);
    memmap_copy_from(&f->mem, 0x9000, b, sizeof(b));
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(b[i], pat(8, i));
    for (unsigned i = 512; i < sizeof(b); i++)
        assert_int_equal(b[i], 0);
}

static void dma_table_lengths(void **state)
{
    struct fx *f = *state;
    /* Start first, command second works too. Table longer than the transfer: Active stays. */
    prd(f, 0x1000, 0x20000, 1024, false);
    prd(f, 0x1008, 0x30000, 4096, true);
    outl(f, BM + BM_PRD, 0x1000);
    outb(f, BM + BM_CMD, BM_CMD_WRITE | BM_CMD_START);
    assert_int_equal(inb(f, BM + BM_STATUS), BM_ST_ACTIVE);
    lba28_cmd(f, 50, 3, 0xC8);
    settle(f);
    settle(f);
    assert_true(f->irq[0]);
    assert_int_equal(inb(f, BM + BM_STATUS), BM_ST_ACTIVE | BM_ST_INT);
    assert_int_equal(inb(f, PRI + 7), 0x50);
    uint8_t b[512];
    memmap_copy_from(&f->mem, 0x30000, b, 512);
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(b[i], pat(52, i));
    outb(f, BM + BM_CMD, 0);
    assert_int_equal(inb(f, BM + BM_STATUS), BM_ST_INT);
    outb(f, BM + BM_STATUS, BM_ST_INT);

    /* Table shorter than the transfer: Active and Interrupt both clear, the device waits. */
    prd(f, 0x1000, 0x20000, 512, true);
    lba28_cmd(f, 60, 2, 0xC8);
    settle(f);
    outb(f, BM + BM_CMD, BM_CMD_WRITE | BM_CMD_START);
    settle(f);
    assert_int_equal(inb(f, BM + BM_STATUS), 0);
    assert_false(f->irq[0]);
    assert_int_equal(inb(f, PRI_CTL), 0x58);
    /* The driver gives more table: a restart carries on with the second sector. */
    prd(f, 0x1000, 0x40000, 512, true);
    outb(f, BM + BM_CMD, 0);
    outb(f, BM + BM_CMD, BM_CMD_WRITE | BM_CMD_START);
    settle(f);
    assert_true(f->irq[0]);
    assert_int_equal(inb(f, BM + BM_STATUS), BM_ST_INT);
    memmap_copy_from(&f->mem, 0x20000, b, 512);
    assert_int_equal(b[100], pat(60, 100));
    memmap_copy_from(&f->mem, 0x40000, b, 512);
    assert_int_equal(b[100], pat(61, 100));
    assert_int_equal(inb(f, PRI + 7), 0x50);
    outb(f, BM + BM_CMD, 0);

    /* Without bus mastering enabled in PCI COMMAND nothing moves. */
    outb(f, BM + BM_STATUS, BM_ST_INT);
    pci_config_write(&f->ide.pci, PCI_COMMAND, PCI_COMMAND_IO, 2);
    prd(f, 0x1000, 0x20000, 512, true);
    lba28_cmd(f, 70, 1, 0xC8);
    settle(f);
    outb(f, BM + BM_CMD, BM_CMD_WRITE | BM_CMD_START);
    settle(f);
    assert_int_equal(inb(f, BM + BM_STATUS), BM_ST_ACTIVE);
    assert_int_equal(inb(f, PRI_CTL), 0x58);
    pci_config_write(&f->ide.pci, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
    settle(f);
    assert_int_equal(inb(f, BM + BM_STATUS), BM_ST_INT);
    assert_int_equal(inb(f, PRI + 7), 0x50);
}

static void dma_64k_wrap(void **state)
{
    struct fx *f = *state;
    uint8_t ff[0x400];
    memset(ff, 0xEE, sizeof(ff));
    memmap_copy_to(&f->mem, 0x50000, ff, sizeof(ff));
    memmap_copy_to(&f->mem, 0x5FF00, ff, 0x100);
    memmap_copy_to(&f->mem, 0x60000, ff, sizeof(ff));
    /* The table's second entry would be at 0x20000 but the incrementer wraps to 0x10000;
     * the region at 0x5FF00 wraps to 0x50000 after 256 bytes. */
    prd(f, 0x1FFF8, 0x5FF00, 512, false);
    prd(f, 0x10000, 0x70000, 512, true);
    prd(f, 0x20000, 0x78000, 512, true);
    outl(f, BM + BM_PRD, 0x1FFF8);
    lba28_cmd(f, 9, 2, 0xC8);
    outb(f, BM + BM_CMD, BM_CMD_WRITE | BM_CMD_START);
    settle(f);
    settle(f);
    assert_int_equal(inb(f, BM + BM_STATUS), BM_ST_INT);
    uint8_t b[0x100];
    memmap_copy_from(&f->mem, 0x5FF00, b, 0x100);
    for (unsigned i = 0; i < 0x100; i++)
        assert_int_equal(b[i], pat(9, i));
    memmap_copy_from(&f->mem, 0x50000, b, 0x100);
    for (unsigned i = 0; i < 0x100; i++)
        assert_int_equal(b[i], pat(9, 0x100 + i));
    memmap_copy_from(&f->mem, 0x60000, b, 4);
    assert_int_equal(b[0], 0xEE); /* never crossed into the next 64 KiB */
    memmap_copy_from(&f->mem, 0x70000, b, 4);
    assert_int_equal(b[1], pat(10, 1));
    memmap_copy_from(&f->mem, 0x78000, b, 4);
    assert_int_equal(b[1], 0);
    outb(f, BM + BM_CMD, 0);
}

static void dma_bus_error(void **state)
{
    struct fx *f = *state;
    /* A region beyond RAM: master abort, Error set, the command ends with ABRT. */
    prd(f, 0x1000, 0xF0000000u, 512, true);
    outl(f, BM + BM_PRD, 0x1000);
    lba28_cmd(f, 1, 1, 0xC8);
    outb(f, BM + BM_CMD, BM_CMD_WRITE | BM_CMD_START);
    settle(f);
    assert_int_equal(inb(f, BM + BM_STATUS), BM_ST_ERROR | BM_ST_INT);
    assert_int_equal(inb(f, PRI + 7), 0x51);
    assert_int_equal(inb(f, PRI + 1), ATA_ERR_ABRT);
    outb(f, BM + BM_CMD, 0);
    outb(f, BM + BM_STATUS, BM_ST_ERROR | BM_ST_INT);
    /* A PRD table outside RAM likewise. */
    outl(f, BM + BM_PRD, 0xFFFF0000u);
    lba28_cmd(f, 1, 1, 0xC8);
    outb(f, BM + BM_CMD, BM_CMD_WRITE | BM_CMD_START);
    settle(f);
    assert_int_equal(inb(f, BM + BM_STATUS) & BM_ST_ERROR, BM_ST_ERROR);
    assert_int_equal(inb(f, PRI + 7), 0x51);
    outb(f, BM + BM_CMD, 0);
}

static void write_dma_to_file(void **state)
{
    struct fx *f = *state;
    uint8_t src[1024];
    for (unsigned i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 3 + 1);
    /* 1024 bytes gathered from three regions of 100, 412 and 512 bytes (even counts). */
    memmap_copy_to(&f->mem, 0x4000, src, 100);
    memmap_copy_to(&f->mem, 0x5000, src + 100, 412);
    memmap_copy_to(&f->mem, 0x6000, src + 512, 512);
    prd(f, 0x1000, 0x4000, 100, false);
    prd(f, 0x1008, 0x5000, 412, false);
    prd(f, 0x1010, 0x6000, 512, true);
    outl(f, BM + BM_PRD, 0x1000);
    outb(f, BM + BM_CMD, 0); /* memory -> device */
    lba48_cmd(f, 1000, 2, 0x35);
    settle(f);
    outb(f, BM + BM_CMD, BM_CMD_START);
    settle(f);
    assert_int_equal(inb(f, BM + BM_STATUS), BM_ST_INT);
    assert_int_equal(inb(f, PRI + 7), 0x50);
    outb(f, BM + BM_CMD, 0);
    uint8_t b[1536];
    int fd = open(f->path[0], O_RDONLY);
    assert_int_equal(pread(fd, b, sizeof(b), 1000 * 512), (ssize_t)sizeof(b));
    close(fd);
    assert_memory_equal(b, src, 1024);
    assert_int_equal(b[1024], pat(1002, 0));
}

/* ---- PCI and save/load ---- */

static void pci_function(void **state)
{
    struct fx *f = *state;
    struct pci_function *p = &f->ide.pci;
    assert_int_equal(pci_config_read(p, 0, 4), 0x70108086);
    assert_int_equal(pci_config_read(p, 8, 4) >> 8, 0x010180);
    assert_int_equal(pci_config_read(p, PCI_HEADER_TYPE, 1), 0);
    /* BAR4 sizing: 16 ports of I/O. All 32 bits read back as SeaBIOS's sizing expects; a
     * base beyond the 64K port space decodes nothing. */
    pci_config_write(p, PCI_BAR0 + 16, 0xFFFFFFFF, 4);
    assert_int_equal(pci_config_read(p, PCI_BAR0 + 16, 4), 0xFFFFFFF1);
    assert_int_equal(f->ide.bm_base, 0);
    pci_config_write(p, PCI_BAR0 + 16, 0xFFF0, 4);
    assert_int_equal(f->bm_new, 0xFFF0);
    pci_config_write(p, PCI_BAR0 + 16, 0xD000, 4);
    assert_int_equal(f->bm_old, 0xFFF0);
    assert_int_equal(f->bm_new, 0xD000);
    assert_int_equal(f->ide.bm_base, 0xD000);
    pci_config_write(p, PCI_COMMAND, 0, 2);
    assert_int_equal(f->bm_new, 0);
    /* IDETIM is writable storage (BIOSes set the decode enable bits there). */
    pci_config_write(p, 0x40, 0x80008000, 4);
    assert_int_equal(pci_config_read(p, 0x40, 4), 0x80008000);
    /* Device reset returns the function to its defaults. */
    device_reset(&f->ide.dev);
    assert_int_equal(pci_config_read(p, 0x40, 4), 0);
    assert_int_equal(pci_config_read(p, PCI_BAR0 + 16, 4), 1);
}

static void save_load(void **state)
{
    struct fx *f = *state;
    /* Mid-command state: SET MULTIPLE 2, READ MULTIPLE of 4 sectors, first block half read. */
    outb(f, PRI + 2, 2);
    outb(f, PRI + 7, 0xC6);
    settle(f);
    lba28_cmd(f, 300, 4, 0xC4);
    settle(f);
    for (unsigned i = 0; i < 300; i += 2)
        (void)inw(f, PRI);
    outb(f, BM + BM_PRD + 8, 0x40); /* something in the secondary's registers */

    size_t need = device_save(&f->ide.dev, NULL, 0);
    uint8_t *buf = malloc(need);
    assert_int_equal(device_save(&f->ide.dev, buf, need), need);

    struct fx *g = fx_new();
    assert_non_null(g);
    int k = fx_image(g, SECTORS_10M, 512, false);
    assert_int_equal(ide_attach_disk(&g->ide, 0, 0, &g->img[k], NULL), 0);
    g->clock.now = f->clock.now;
    assert_int_equal(device_load(&g->ide.dev, buf, need), 0);
    assert_int_equal(inb(g, BM + BM_PRD + 8), 0x40);
    /* The rest of block one, then the BSY period and block two, then the last. */
    for (unsigned i = 300; i < 1024; i += 2) {
        uint16_t w = inw(g, PRI);
        unsigned s = 300 + i / 512, o = i % 512;
        assert_int_equal(w, pat(s, o) | pat(s, o + 1) << 8);
    }
    assert_int_equal(inb(g, PRI_CTL), ATA_ST_BSY);
    /* Save inside the BSY period: the timer deadline travels with the state. */
    need = device_save(&g->ide.dev, NULL, 0);
    buf = realloc(buf, need);
    device_save(&g->ide.dev, buf, need);
    device_reset(&g->ide.dev);
    assert_int_equal(device_load(&g->ide.dev, buf, need), 0);
    assert_int_equal(inb(g, PRI_CTL), ATA_ST_BSY);
    settle(g);
    assert_true(g->irq[0]);
    assert_int_equal(inb(g, PRI + 7), 0x58);
    expect_sector(g, PRI, 302);
    expect_sector(g, PRI, 303);
    assert_int_equal(inb(g, PRI + 7), 0x50);

    /* Malformed states are refused and leave the controller reset. */
    assert_int_equal(device_load(&g->ide.dev, buf, need - 1), -1);
    assert_int_equal(inb(g, PRI + 7), 0x50);
    uint8_t *bad = malloc(need);
    memcpy(bad, buf, need);
    /* unit_sel of channel 0 lives right after the 256 config bytes and devctl. */
    bad[6 + 256 + 1] = 7;
    assert_int_equal(device_load(&g->ide.dev, bad, need), -1);
    /* A state saved with another drive attached does not load. */
    struct fx *h = fx_new();
    assert_non_null(h);
    assert_int_equal(device_load(&h->ide.dev, buf, need), -1);
    free(bad);
    free(buf);
    fx_free(h);
    fx_free(g);
}

static void hostile_registers(void **state)
{
    struct fx *f = *state;
    /* Reading and writing the data port, BM registers and every register width at random
     * must never crash or touch beyond the image; afterwards the disk still works. */
    uint32_t x = 12345;
    for (int n = 0; n < 200000; n++) {
        x = x * 1103515245 + 12345;
        unsigned r = (x >> 8) % 24, size = 1u << ((x >> 20) % 3);
        uint32_t v = x >> 3;
        uint16_t port = r < 8 ? (uint16_t)(PRI + r) : r < 10 ? PRI_CTL : r < 12 ? PRI : (uint16_t)(BM + r - 12);
        if (port == PRI_CTL && (v & ATA_CTL_SRST) && (x & 0x100))
            v &= ~ATA_CTL_SRST;
        if (r == 7 && ((v & 0xFF) == 0xE7 || (v & 0xFF) == 0xEA))
            v = 0xE5; /* FLUSH is tested elsewhere; here it would only wait for the disk */
        if (x & 0x80000000u)
            ioport_write(&f->bus, port, v, size);
        else
            (void)ioport_read(&f->bus, port, size);
        if ((x & 0x3F) == 0)
            settle(f);
    }
    outb(f, BM + BM_CMD, 0);
    outb(f, PRI_CTL, ATA_CTL_SRST);
    outb(f, PRI_CTL, 0);
    lba28_cmd(f, 11, 1, 0x20);
    settle(f);
    assert_int_equal(inb(f, PRI + 7), 0x58);
    /* Random writes may have reached sector 11: compare with the file as it is now. */
    uint8_t b[512];
    int fd = open(f->path[0], O_RDONLY);
    assert_int_equal(pread(fd, b, 512, 11 * 512), 512);
    assert_int_equal(lseek(fd, 0, SEEK_END), SECTORS_10M * 512);
    close(fd);
    for (unsigned i = 0; i < 512; i += 2)
        assert_int_equal(inw(f, PRI), b[i] | b[i + 1] << 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(identify_10mib, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(read_sectors_pio, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(read_multiple_and_chs, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(write_sectors_to_file, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(out_of_range, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(lba48_and_hob, setup_disk, teardown),
        cmocka_unit_test(big_sparse_disk),
        cmocka_unit_test(read_only_image),
        cmocka_unit_test(host_io_error),
        cmocka_unit_test_setup_teardown(srst_and_signature, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(read_dma_scatter, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(dma_table_lengths, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(dma_64k_wrap, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(dma_bus_error, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(write_dma_to_file, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(pci_function, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(save_load, setup_disk, teardown),
        cmocka_unit_test_setup_teardown(hostile_registers, setup_disk, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
