/* Unit tests of the ATAPI CD/DVD-ROM (devices/atapi.c with devices/ide.c) through the ports,
 * expectations from ATA/ATAPI-6, SFF-8020 and MMC: the packet signature after reset,
 * IDENTIFY PACKET DEVICE, the PACKET protocol (command phase, byte count per DRQ block,
 * interrupt reason), sense data (NOT READY without medium, UNIT ATTENTION after a change),
 * READ CAPACITY / READ(10) / READ(12) / READ TOC / INQUIRY / MODE SENSE / GET CONFIGURATION /
 * GET EVENT STATUS / START STOP / PREVENT, DMA, and save/load. The drive is the secondary
 * master, as on QEMU's default PC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "ide_fixture.h"

#define ISO_SECTORS 40

struct t {
    struct fx *f;
    int iso;
};

static int setup_empty(void **state)
{
    struct fx *f = fx_new();
    if (!f || ide_attach_cdrom(&f->ide, 1, 0, NULL))
        return -1;
    *state = f;
    return 0;
}

static int setup_iso(void **state)
{
    struct fx *f = fx_new();
    if (!f)
        return -1;
    int k = fx_image(f, ISO_SECTORS, 2048, true);
    if (k < 0 || ide_attach_cdrom(&f->ide, 1, 0, &f->img[k]))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

/* Issues PACKET with the given byte count limit and sends the 12-byte CDB. */
static void packet(struct fx *f, const uint8_t *cdb, uint16_t bcl, bool dma)
{
    outb(f, SEC + 6, 0xA0);
    outb(f, SEC + 1, dma ? 1 : 0);
    outb(f, SEC + 4, (uint8_t)bcl);
    outb(f, SEC + 5, (uint8_t)(bcl >> 8));
    outb(f, SEC + 7, 0xA0);
    /* Command phase: DRQ, C/D=1, I/O=0, no interrupt. */
    assert_int_equal(inb(f, SEC_CTL) & (ATA_ST_BSY | ATA_ST_DRQ), ATA_ST_DRQ);
    assert_int_equal(inb(f, SEC + 2) & 3, ATAPI_IR_COD);
    assert_false(f->irq[1]);
    for (int i = 0; i < 12; i += 2)
        outw(f, SEC, (uint16_t)(cdb[i] | cdb[i + 1] << 8));
    settle(f);
}

/* After packet(): expects a data-in DRQ block of `n` bytes and reads it into out. */
static void data_block(struct fx *f, uint8_t *out, unsigned n)
{
    assert_true(f->irq[1]);
    assert_int_equal(inb(f, SEC + 7), ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ);
    assert_int_equal(inb(f, SEC + 2) & 3, ATAPI_IR_IO);
    assert_int_equal(inb(f, SEC + 4) | inb(f, SEC + 5) << 8, n);
    for (unsigned i = 0; i < n; i += 2) {
        uint16_t w = inw(f, SEC);
        out[i] = (uint8_t)w;
        if (i + 1 < n)
            out[i + 1] = (uint8_t)(w >> 8);
    }
    settle(f);
}

/* The status phase: C/D=1, I/O=1, DRQ clear, interrupt; returns status. */
static uint8_t status_phase(struct fx *f)
{
    assert_true(f->irq[1]);
    assert_int_equal(inb(f, SEC + 2) & 3, ATAPI_IR_IO | ATAPI_IR_COD);
    uint8_t st = inb(f, SEC + 7);
    assert_false(f->irq[1]);
    assert_int_equal(st & (ATA_ST_BSY | ATA_ST_DRQ), 0);
    return st;
}

static void expect_good(struct fx *f) { assert_int_equal(status_phase(f) & ATA_ST_ERR, 0); }

static void expect_sense(struct fx *f, uint8_t key, uint8_t asc)
{
    assert_int_equal(status_phase(f) & ATA_ST_ERR, ATA_ST_ERR);
    assert_int_equal(inb(f, SEC + 1) >> 4, key);
    uint8_t cdb[12] = {0x03, 0, 0, 0, 18};
    uint8_t s[18];
    packet(f, cdb, 0xFFFE, false);
    data_block(f, s, 18);
    expect_good(f);
    assert_int_equal(s[0], 0x70);
    assert_int_equal(s[2] & 0x0F, key);
    assert_int_equal(s[7], 10);
    assert_int_equal(s[12], asc);
}

static void simple(struct fx *f, uint8_t op)
{
    uint8_t cdb[12] = {op};
    packet(f, cdb, 0xFFFE, false);
}

static void signature_after_reset(void **state)
{
    struct fx *f = *state;
    /* Power-on: the packet signature, DRDY clear. */
    assert_int_equal(inb(f, SEC + 7), 0x00);
    assert_int_equal(inb(f, SEC + 1), 0x01);
    assert_int_equal(inb(f, SEC + 2), 0x01);
    assert_int_equal(inb(f, SEC + 3), 0x01);
    assert_int_equal(inb(f, SEC + 4), 0x14);
    assert_int_equal(inb(f, SEC + 5), 0xEB);
    /* Scribble over the registers, then SRST brings the signature back. */
    outb(f, SEC + 4, 0x55);
    outb(f, SEC + 5, 0xAA);
    assert_int_equal(inb(f, SEC + 4), 0x55);
    outb(f, SEC_CTL, ATA_CTL_SRST);
    assert_int_equal(inb(f, SEC_CTL), ATA_ST_BSY);
    outb(f, SEC_CTL, 0);
    assert_int_equal(inb(f, SEC + 7), 0x00);
    assert_int_equal(inb(f, SEC + 4), 0x14);
    assert_int_equal(inb(f, SEC + 5), 0xEB);
    assert_false(f->irq[1]);
    /* IDENTIFY DEVICE is aborted, leaving the signature for the host to see. */
    outb(f, SEC + 4, 0);
    outb(f, SEC + 5, 0);
    outb(f, SEC + 7, 0xEC);
    settle(f);
    assert_true(f->irq[1]);
    assert_int_equal(inb(f, SEC + 7) & ATA_ST_ERR, ATA_ST_ERR);
    assert_int_equal(inb(f, SEC + 1), ATA_ERR_ABRT);
    assert_int_equal(inb(f, SEC + 4), 0x14);
    assert_int_equal(inb(f, SEC + 5), 0xEB);
    /* DEVICE RESET: signature again, no interrupt. */
    outb(f, SEC + 4, 0);
    outb(f, SEC + 7, 0x08);
    assert_false(f->irq[1]);
    assert_int_equal(inb(f, SEC + 4), 0x14);
    assert_int_equal(inb(f, SEC + 1), 0x01);
    /* Disk commands are aborted. */
    outb(f, SEC + 7, 0x20);
    settle(f);
    assert_int_equal(inb(f, SEC + 1), ATA_ERR_ABRT);
    assert_int_equal(inw(f, SEC), 0xFFFF);
}

static void identify_packet(void **state)
{
    struct fx *f = *state;
    outb(f, SEC + 6, 0xA0);
    outb(f, SEC + 7, 0xA1);
    settle(f);
    assert_true(f->irq[1]);
    assert_int_equal(inb(f, SEC + 7), 0x58);
    uint16_t w[256];
    for (int i = 0; i < 256; i++)
        w[i] = inw(f, SEC);
    assert_int_equal(inb(f, SEC + 7), 0x50);
    /* ATAPI (10b), device type 05h, removable, 50 us DRQ, 12-byte packets. */
    assert_int_equal(w[0] >> 14, 2);
    assert_int_equal((w[0] >> 8) & 0x1F, 5);
    assert_true(w[0] & 0x80);
    assert_int_equal(w[0] & 3, 0);
    assert_int_equal(w[27], 'B' << 8 | 'T');
    assert_int_equal(w[30], 'V' << 8 | 'D');
    assert_int_equal(w[31], '-' << 8 | 'R');
    assert_true(w[49] & 0x0300);
    assert_true(w[82] & 0x0010); /* PACKET feature set */
    assert_int_equal(w[63] & 7, 7);
    uint8_t sum = 0;
    for (int i = 0; i < 256; i++)
        sum = (uint8_t)(sum + (w[i] & 0xFF) + (w[i] >> 8));
    assert_int_equal(sum, 0);
    /* SET FEATURES transfer mode MWDMA2 shows as selected. */
    outb(f, SEC + 1, 0x03);
    outb(f, SEC + 2, 0x22);
    outb(f, SEC + 7, 0xEF);
    settle(f);
    assert_int_equal(inb(f, SEC + 7), 0x50);
    outb(f, SEC + 7, 0xA1);
    settle(f);
    for (int i = 0; i < 256; i++)
        w[i] = inw(f, SEC);
    assert_int_equal(w[63], 0x0407);
}

static void no_medium(void **state)
{
    struct fx *f = *state;
    simple(f, 0x00);
    expect_sense(f, 0x02, 0x3A);
    /* The sense was consumed: a second REQUEST SENSE reports nothing. */
    uint8_t cdb[12] = {0x03, 0, 0, 0, 18};
    uint8_t s[18];
    packet(f, cdb, 0xFFFE, false);
    data_block(f, s, 18);
    expect_good(f);
    assert_int_equal(s[2], 0);
    /* READ CAPACITY and READ(10) need a medium too; INQUIRY does not. */
    simple(f, 0x25);
    expect_sense(f, 0x02, 0x3A);
    uint8_t rd[12] = {0x28, 0, 0, 0, 0, 16, 0, 0, 1};
    packet(f, rd, 0xFFFE, false);
    expect_sense(f, 0x02, 0x3A);
    uint8_t inq[12] = {0x12, 0, 0, 0, 36};
    uint8_t b[36];
    packet(f, inq, 0xFFFE, false);
    data_block(f, b, 36);
    expect_good(f);
    /* GET EVENT STATUS: no medium, tray closed. */
    uint8_t gesn[12] = {0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8};
    packet(f, gesn, 0xFFFE, false);
    data_block(f, b, 8);
    expect_good(f);
    assert_int_equal(b[2], 4);
    assert_int_equal(b[5], 0);
    /* GET CONFIGURATION: current profile 0 without a medium. */
    uint8_t gc[12] = {0x46, 0, 0, 0, 0, 0, 0, 0, 32};
    packet(f, gc, 0xFFFE, false);
    uint8_t g[32];
    data_block(f, g, 32);
    expect_good(f);
    assert_int_equal(g[6] << 8 | g[7], 0);
}

static void inquiry(void **state)
{
    struct fx *f = *state;
    uint8_t cdb[12] = {0x12, 0, 0, 0, 36};
    uint8_t b[36];
    packet(f, cdb, 0xFFFE, false);
    data_block(f, b, 36);
    expect_good(f);
    assert_int_equal(b[0] & 0x1F, 5); /* CD/DVD */
    assert_int_equal(b[1], 0x80);    /* removable */
    assert_int_equal(b[4], 31);
    assert_memory_equal(b + 8, "BT86    ", 8);
    /* An allocation length of 5 cuts the answer; an odd count pads the last word. */
    cdb[4] = 5;
    packet(f, cdb, 0xFFFE, false);
    data_block(f, b, 5);
    expect_good(f);
    assert_int_equal(b[0], 5);
    /* Vital product data is not supported. */
    cdb[1] = 1;
    packet(f, cdb, 0xFFFE, false);
    expect_sense(f, 0x05, 0x24);
}

static void read_capacity(void **state)
{
    struct fx *f = *state;
    uint8_t b[8];
    simple(f, 0x00);
    expect_good(f);
    simple(f, 0x25);
    data_block(f, b, 8);
    expect_good(f);
    /* Last LBA 39, 2048-byte blocks, big-endian. */
    assert_int_equal(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3], ISO_SECTORS - 1);
    assert_int_equal(b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7], 2048);
}

static void expect_cd_sector(const uint8_t *b, uint32_t lba)
{
    for (unsigned i = 0; i < 2048; i++)
        if (b[i] != pat(lba, i))
            fail_msg("sector %u byte %u: %02x", lba, i, b[i]);
}

static void read10_pio(void **state)
{
    struct fx *f = *state;
    static uint8_t b[3 * 2048];
    /* READ(10) of sector 16: one DRQ block of 2048 bytes, its size in the cylinder registers. */
    uint8_t cdb[12] = {0x28, 0, 0, 0, 0, 16, 0, 0, 1};
    packet(f, cdb, 0xFFFE, false);
    data_block(f, b, 2048);
    expect_good(f);
    expect_cd_sector(b, 16);
    /* Three sectors with a byte count limit of 2048: three blocks, three interrupts. */
    int rises = f->rises[1];
    cdb[8] = 3;
    cdb[5] = 20;
    packet(f, cdb, 2048, false);
    for (int i = 0; i < 3; i++)
        data_block(f, b + 2048 * i, 2048);
    expect_good(f);
    assert_int_equal(f->rises[1], rises + 4);
    for (int i = 0; i < 3; i++)
        expect_cd_sector(b + 2048 * i, 20 + (uint32_t)i);
    /* An odd limit of 1001 counts as 1000: blocks 1000, 1000, 48. */
    cdb[8] = 1;
    packet(f, cdb, 1001, false);
    data_block(f, b, 1000);
    data_block(f, b + 1000, 1000);
    data_block(f, b + 2000, 48);
    expect_good(f);
    expect_cd_sector(b, 20);
    /* READ(12) of the last two sectors with 32-bit data reads. */
    uint8_t r12[12] = {0xA8, 0, 0, 0, 0, ISO_SECTORS - 2, 0, 0, 0, 2};
    packet(f, r12, 0xFFFE, false);
    assert_int_equal(inb(f, SEC + 4) | inb(f, SEC + 5) << 8, 4096);
    (void)inb(f, SEC + 7);
    for (unsigned i = 0; i < 4096; i += 4) {
        uint32_t v = inl(f, SEC);
        memcpy(b + i, &v, 4);
    }
    settle(f);
    expect_good(f);
    expect_cd_sector(b, ISO_SECTORS - 2);
    expect_cd_sector(b + 2048, ISO_SECTORS - 1);
    /* Past the end: ILLEGAL REQUEST, LBA out of range. */
    cdb[5] = ISO_SECTORS - 1;
    cdb[8] = 2;
    packet(f, cdb, 0xFFFE, false);
    expect_sense(f, 0x05, 0x21);
    uint8_t huge[12] = {0xA8, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    packet(f, huge, 0xFFFE, false);
    expect_sense(f, 0x05, 0x21);
    /* Zero sectors is a successful no-op. */
    cdb[8] = 0;
    packet(f, cdb, 0xFFFE, false);
    expect_good(f);
}

static void read10_dma(void **state)
{
    struct fx *f = *state;
    /* Sector 16 split over two regions, sector 17 in a third. */
    prd(f, 0x1000, 0x10000, 1024, false);
    prd(f, 0x1008, 0x30000, 1024, false);
    prd(f, 0x1010, 0x50000, 2048, true);
    outl(f, BM + 8 + BM_PRD, 0x1000);
    outb(f, BM + 8 + BM_CMD, BM_CMD_WRITE);
    uint8_t cdb[12] = {0x28, 0, 0, 0, 0, 16, 0, 0, 2};
    packet(f, cdb, 0xFFFE, true);
    assert_false(f->irq[1]);
    assert_int_equal(inb(f, SEC_CTL) & ATA_ST_DRQ, ATA_ST_DRQ);
    outb(f, BM + 8 + BM_CMD, BM_CMD_WRITE | BM_CMD_START);
    settle(f);
    expect_good(f);
    assert_int_equal(inb(f, BM + 8 + BM_STATUS), BM_ST_INT);
    outb(f, BM + 8 + BM_CMD, 0);
    static uint8_t b[2048];
    memmap_copy_from(&f->mem, 0x10000, b, 1024);
    memmap_copy_from(&f->mem, 0x30000, b + 1024, 1024);
    expect_cd_sector(b, 16);
    memmap_copy_from(&f->mem, 0x50000, b, 2048);
    expect_cd_sector(b, 17);
    /* The primary channel's bus master saw nothing. */
    assert_int_equal(inb(f, BM + BM_STATUS), 0);

    /* A non-read command by DMA: INQUIRY into one region. */
    prd(f, 0x1000, 0x60000, 36, true);
    outb(f, BM + 8 + BM_STATUS, BM_ST_INT);
    uint8_t inq[12] = {0x12, 0, 0, 0, 36};
    packet(f, inq, 0xFFFE, true);
    outb(f, BM + 8 + BM_CMD, BM_CMD_WRITE | BM_CMD_START);
    settle(f);
    expect_good(f);
    memmap_copy_from(&f->mem, 0x60000, b, 36);
    assert_int_equal(b[0], 5);
    assert_memory_equal(b + 16, "BT86 DVD-ROM", 12);
    outb(f, BM + 8 + BM_CMD, 0);
}

static void msf_bytes(uint8_t *p, uint32_t lba)
{
    uint32_t fr = lba + 150;
    p[0] = 0;
    p[1] = (uint8_t)(fr / 4500);
    p[2] = (uint8_t)(fr / 75 % 60);
    p[3] = (uint8_t)(fr % 75);
}

static void read_toc(void **state)
{
    struct fx *f = *state;
    uint8_t b[64];
    /* Format 0, LBA: header (length 18, tracks 1..1), track 1 at 0, lead-out at 40. */
    uint8_t cdb[12] = {0x43, 0, 0, 0, 0, 0, 0, 0, 64};
    packet(f, cdb, 0xFFFE, false);
    data_block(f, b, 20);
    expect_good(f);
    static const uint8_t want[20] = {0, 18, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0,
                                     0, 0x14, 0xAA, 0, 0, 0, 0, ISO_SECTORS};
    assert_memory_equal(b, want, 20);
    /* MSF: track 1 at 00:02:00, the lead-out at (40 + 150) frames = 00:02:40. */
    cdb[1] = 2;
    packet(f, cdb, 0xFFFE, false);
    data_block(f, b, 20);
    expect_good(f);
    uint8_t m[4];
    msf_bytes(m, 0);
    assert_memory_equal(b + 8, m, 4);
    msf_bytes(m, ISO_SECTORS);
    assert_memory_equal(b + 16, m, 4);
    assert_int_equal(b[18], 2);
    assert_int_equal(b[19], 40);
    /* Starting at track 0xAA: only the lead-out. Track 2 does not exist. */
    cdb[1] = 0;
    cdb[6] = 0xAA;
    packet(f, cdb, 0xFFFE, false);
    data_block(f, b, 12);
    expect_good(f);
    assert_int_equal(b[1], 10);
    assert_int_equal(b[6], 0xAA);
    cdb[6] = 2;
    packet(f, cdb, 0xFFFE, false);
    expect_sense(f, 0x05, 0x24);
    /* Format 1: one session, first track 1 at LBA 0. */
    uint8_t s1[12] = {0x43, 0, 1, 0, 0, 0, 0, 0, 12};
    packet(f, s1, 0xFFFE, false);
    data_block(f, b, 12);
    expect_good(f);
    static const uint8_t want1[12] = {0, 10, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0};
    assert_memory_equal(b, want1, 12);
    /* Allocation length 4: the header only, its length field still whole. */
    cdb[6] = 0;
    cdb[8] = 4;
    packet(f, cdb, 0xFFFE, false);
    data_block(f, b, 4);
    expect_good(f);
    assert_int_equal(b[1], 18);
}

static void mode_sense_and_config(void **state)
{
    struct fx *f = *state;
    uint8_t b[64];
    uint8_t cdb[12] = {0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 64};
    packet(f, cdb, 0xFFFE, false);
    data_block(f, b, 28);
    expect_good(f);
    assert_int_equal(b[0] << 8 | b[1], 26);
    assert_int_equal(b[8], 0x2A);
    assert_int_equal(b[9], 0x12);
    assert_int_equal(b[14] & 0x08, 0x08); /* eject supported */
    /* Saved values: not supported. Unknown page: invalid field. */
    cdb[2] = 0xEA;
    packet(f, cdb, 0xFFFE, false);
    expect_sense(f, 0x05, 0x39);
    cdb[2] = 0x05;
    packet(f, cdb, 0xFFFE, false);
    expect_sense(f, 0x05, 0x24);
    /* GET CONFIGURATION: a 40-sector disc is a CD-ROM (profile 0008h). */
    uint8_t gc[12] = {0x46, 0, 0, 0, 0, 0, 0, 0, 64};
    packet(f, gc, 0xFFFE, false);
    data_block(f, b, 36);
    expect_good(f);
    assert_int_equal(b[3], 32);
    assert_int_equal(b[6] << 8 | b[7], 0x0008);
    assert_int_equal(b[8] << 8 | b[9], 0x0000); /* profile list first */
    /* READ DISC INFORMATION: complete disc, one session. */
    uint8_t rdi[12] = {0x51, 0, 0, 0, 0, 0, 0, 0, 34};
    packet(f, rdi, 0xFFFE, false);
    data_block(f, b, 34);
    expect_good(f);
    assert_int_equal(b[1], 32);
    assert_int_equal(b[2] & 3, 2);
    /* An unknown opcode. */
    simple(f, 0xFF);
    expect_sense(f, 0x05, 0x20);
}

static void media_change(void **state)
{
    struct fx *f = *state;
    uint8_t b[8];
    uint8_t gesn[12] = {0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8};
    int k = fx_image(f, 5000, 2048, true);
    assert_true(k >= 0);
    /* The host inserts another disc: UNIT ATTENTION 28h once, then ready. */
    assert_int_equal(ide_cdrom_change(&f->ide, 1, 0, &f->img[k]), 0);
    simple(f, 0x00);
    expect_sense(f, 0x06, 0x28);
    simple(f, 0x00);
    expect_good(f);
    packet(f, gesn, 0xFFFE, false);
    data_block(f, b, 8);
    expect_good(f);
    assert_int_equal(b[4], 2); /* new media */
    assert_int_equal(b[5], 2); /* present, tray closed */
    packet(f, gesn, 0xFFFE, false);
    data_block(f, b, 8);
    expect_good(f);
    assert_int_equal(b[4], 0); /* reported once */
    simple(f, 0x25);
    data_block(f, b, 8);
    expect_good(f);
    assert_int_equal(b[3], 4999 & 0xFF);
    assert_int_equal(b[2], 4999 >> 8);
    /* The lead-out in MSF: 5000 + 150 frames = 1 min 8 s 50 frames. */
    uint8_t toc[12] = {0x43, 2, 0, 0, 0, 0, 0xAA, 0, 12};
    uint8_t t[12];
    packet(f, toc, 0xFFFE, false);
    data_block(f, t, 12);
    expect_good(f);
    assert_int_equal(t[9], 1);
    assert_int_equal(t[10], 8);
    assert_int_equal(t[11], 50);

    /* Locked: eject is refused; unlocked: the tray opens and the medium is gone. */
    uint8_t prevent[12] = {0x1E, 0, 0, 0, 1};
    packet(f, prevent, 0xFFFE, false);
    expect_good(f);
    assert_true(ide_cdrom_locked(&f->ide, 1, 0));
    uint8_t eject[12] = {0x1B, 0, 0, 0, 0x02};
    packet(f, eject, 0xFFFE, false);
    expect_sense(f, 0x05, 0x53);
    prevent[4] = 0;
    packet(f, prevent, 0xFFFE, false);
    expect_good(f);
    packet(f, eject, 0xFFFE, false);
    expect_good(f);
    simple(f, 0x00);
    expect_sense(f, 0x02, 0x3A);
    packet(f, gesn, 0xFFFE, false);
    data_block(f, b, 8);
    expect_good(f);
    assert_int_equal(b[4], 3); /* media removal */
    assert_int_equal(b[5], 1); /* tray open, nothing present */
    /* Closing the tray brings the same disc back, with a unit attention. */
    eject[4] = 0x03;
    packet(f, eject, 0xFFFE, false);
    expect_good(f);
    simple(f, 0x00);
    expect_sense(f, 0x06, 0x28);
    simple(f, 0x00);
    expect_good(f);
    /* The host ejects: unit attention, then not ready. */
    ide_cdrom_change(&f->ide, 1, 0, NULL);
    simple(f, 0x00);
    expect_sense(f, 0x06, 0x28);
    simple(f, 0x00);
    expect_sense(f, 0x02, 0x3A);
}

static void save_load(void **state)
{
    struct fx *f = *state;
    static uint8_t b[4096];
    /* Mid-transfer: READ(10) of 2 sectors with a 2048-byte limit, 1000 bytes read. */
    uint8_t cdb[12] = {0x28, 0, 0, 0, 0, 30, 0, 0, 2};
    packet(f, cdb, 2048, false);
    for (unsigned i = 0; i < 1000; i += 2) {
        uint16_t w = inw(f, SEC);
        b[i] = (uint8_t)w;
        b[i + 1] = (uint8_t)(w >> 8);
    }
    /* The tray lock goes along too (set directly: no command fits mid-transfer). */
    f->ide.ch[1].drive[0].locked = true;
    size_t need = device_save(&f->ide.dev, NULL, 0);
    uint8_t *buf = malloc(need);
    assert_int_equal(device_save(&f->ide.dev, buf, need), need);

    struct fx *g = fx_new();
    assert_non_null(g);
    int k = fx_image(g, ISO_SECTORS, 2048, true);
    assert_int_equal(ide_attach_cdrom(&g->ide, 1, 0, &g->img[k]), 0);
    g->clock.now = f->clock.now;
    assert_int_equal(device_load(&g->ide.dev, buf, need), 0);
    assert_true(g->irq[1]); /* the DRQ interrupt was still pending */
    for (unsigned i = 1000; i < 2048; i += 2) {
        uint16_t w = inw(g, SEC);
        b[i] = (uint8_t)w;
        b[i + 1] = (uint8_t)(w >> 8);
    }
    settle(g);
    data_block(g, b + 2048, 2048);
    expect_good(g);
    expect_cd_sector(b, 30);
    expect_cd_sector(b + 2048, 31);
    assert_true(ide_cdrom_locked(&g->ide, 1, 0));
    /* An empty drive cannot take the state of one with a disc. */
    struct fx *h = fx_new();
    assert_non_null(h);
    assert_int_equal(ide_attach_cdrom(&h->ide, 1, 0, NULL), 0);
    assert_int_equal(device_load(&h->ide.dev, buf, need), -1);
    assert_int_equal(inb(h, SEC + 4), 0x14); /* left reset */
    free(buf);
    fx_free(h);
    fx_free(g);
}

static void hostile_packets(void **state)
{
    struct fx *f = *state;
    /* Random CDBs with random limits and DMA flags: every command ends in a status phase or
     * a data phase the host can drain; nothing reads beyond the image. */
    prd(f, 0x1000, 0x10000, 0, true);
    outl(f, BM + 8 + BM_PRD, 0x1000);
    uint32_t x = 777;
    for (int n = 0; n < 3000; n++) {
        uint8_t cdb[12];
        for (int i = 0; i < 12; i++) {
            x = x * 1103515245 + 12345;
            cdb[i] = (uint8_t)(x >> 16);
        }
        static const uint8_t ops[] = {0x00, 0x03, 0x12, 0x1B, 0x1E, 0x25, 0x28, 0xA8, 0xBE,
                                      0x2B, 0x43, 0x46, 0x4A, 0x51, 0x5A, 0xBB};
        cdb[0] = ops[x % sizeof(ops)];
        if (cdb[0] == 0x1B)
            cdb[4] &= 1; /* keep the disc in */
        bool dma = x & 0x100;
        packet(f, cdb, (uint16_t)(x >> 7), dma);
        if (dma) {
            outb(f, BM + 8 + BM_CMD, BM_CMD_WRITE | BM_CMD_START);
            settle(f);
            outb(f, BM + 8 + BM_CMD, 0);
            outb(f, BM + 8 + BM_STATUS, BM_ST_INT | BM_ST_ERROR);
        }
        for (int guard = 0; !dma && guard < 100000 && (inb(f, SEC_CTL) & ATA_ST_DRQ); guard++) {
            (void)inw(f, SEC);
            settle(f);
        }
        settle(f);
        uint8_t st = inb(f, SEC + 7);
        if (st & (ATA_ST_BSY | ATA_ST_DRQ)) { /* a long DMA read with a short table */
            outb(f, SEC_CTL, ATA_CTL_SRST);
            outb(f, SEC_CTL, 0);
        }
    }
    simple(f, 0x25);
    uint8_t b[8];
    data_block(f, b, 8);
    expect_good(f);
    assert_int_equal(b[3], ISO_SECTORS - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(signature_after_reset, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(identify_packet, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(no_medium, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(inquiry, setup_iso, teardown),
        cmocka_unit_test_setup_teardown(read_capacity, setup_iso, teardown),
        cmocka_unit_test_setup_teardown(read10_pio, setup_iso, teardown),
        cmocka_unit_test_setup_teardown(read10_dma, setup_iso, teardown),
        cmocka_unit_test_setup_teardown(read_toc, setup_iso, teardown),
        cmocka_unit_test_setup_teardown(mode_sense_and_config, setup_iso, teardown),
        cmocka_unit_test_setup_teardown(media_change, setup_iso, teardown),
        cmocka_unit_test_setup_teardown(save_load, setup_iso, teardown),
        cmocka_unit_test_setup_teardown(hostile_packets, setup_iso, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
