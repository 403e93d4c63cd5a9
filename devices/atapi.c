/* ATAPI CD/DVD-ROM: IDENTIFY PACKET DEVICE data and the SCSI/MMC packet commands a BIOS and
 * the common OS drivers send, over one data track of 2048-byte sectors from an ISO image. */
#include "devices/ide.h"

#include <string.h>

enum {
    SK_NO_SENSE = 0x0,
    SK_NOT_READY = 0x2,
    SK_MEDIUM_ERROR = 0x3,
    SK_ILLEGAL_REQUEST = 0x5,
    SK_UNIT_ATTENTION = 0x6,
};

enum {
    ASC_INVALID_OPCODE = 0x20,
    ASC_LBA_OUT_OF_RANGE = 0x21,
    ASC_INVALID_FIELD = 0x24,
    ASC_MEDIUM_CHANGED = 0x28,
    ASC_SAVING_UNSUPPORTED = 0x39,
    ASC_NO_MEDIUM = 0x3A,
    ASC_REMOVAL_PREVENTED = 0x53,
};

/* GET EVENT STATUS NOTIFICATION media event codes */
enum { EV_NONE = 0, EV_NEW_MEDIA = 2, EV_MEDIA_REMOVAL = 3 };

#define CD_MAX_SECTORS 360000u /* 80 minutes: larger media are reported as DVD-ROM */

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

static bool medium_present(const struct ide_drive *d) { return d->img && !d->tray_open; }

void atapi_identify(struct ide_drive *d, uint16_t *w)
{
    /* ATAPI, CD-ROM device type, removable, DRQ within 50 us, 12-byte packets */
    w[0] = 0x85C0;
    ide_put_string(w, 10, d->serial, 20);
    ide_put_string(w, 23, d->fw, 8);
    ide_put_string(w, 27, d->model, 40);
    w[49] = 0x0B00; /* IORDY, LBA, DMA */
    w[50] = 0x4000;
    w[51] = w[52] = 0x0200;
    w[53] = 0x0006; /* words 64-70 and 88 are valid */
    w[63] = 0x0007;
    if ((d->xfer_mode & 0xF8) == 0x20)
        w[63] |= (uint16_t)(0x100 << (d->xfer_mode & 7));
    w[64] = 0x0003;
    w[65] = w[66] = w[67] = w[68] = 120;
    w[80] = 0x007E;
    w[82] = 0x4210; /* NOP, DEVICE RESET, PACKET */
    w[83] = 0x4000;
    w[84] = 0x4000;
    w[85] = 0x4210;
    w[87] = 0x4000;
    w[88] = 0x003F;
    if ((d->xfer_mode & 0xF8) == 0x40)
        w[88] |= (uint16_t)(0x100 << (d->xfer_mode & 7));
    w[93] = d->unit ? 0x6B00 : 0x600B;
}

/* ---- completion ---- */

static void set_sense(struct ide_drive *d, uint8_t key, uint8_t asc, uint8_t ascq)
{
    d->sense_key = key;
    d->asc = asc;
    d->ascq = ascq;
}

static void atapi_ok(struct ide_drive *d)
{
    d->xfer = IDE_XFER_NONE;
    d->sectors_left = 0;
    set_sense(d, SK_NO_SENSE, 0, 0);
    d->nsector = ATAPI_IR_IO | ATAPI_IR_COD;
    ide_post(d, ATA_ST_DRDY | ATA_ST_DSC, true);
}

/* CHECK CONDITION: ERR in status, the sense key in the error register's high nibble. */
void atapi_fail(struct ide_drive *d, uint8_t key, uint8_t asc, uint8_t ascq)
{
    d->xfer = IDE_XFER_NONE;
    d->sectors_left = 0;
    set_sense(d, key, asc, ascq);
    d->error = (uint8_t)(key << 4);
    d->nsector = ATAPI_IR_IO | ATAPI_IR_COD;
    ide_post(d, ATA_ST_DRDY | ATA_ST_ERR, true);
}

void atapi_dma_done(struct ide_drive *d) { atapi_ok(d); }

static void read_failed(struct ide_drive *d)
{
    if (!medium_present(d))
        atapi_fail(d, SK_NOT_READY, ASC_NO_MEDIUM, 0);
    else
        atapi_fail(d, SK_MEDIUM_ERROR, 0x11, 0); /* unrecovered read error */
}

/* Next PIO DRQ block: as much as is buffered, up to the byte count limit. */
static void next_chunk(struct ide_drive *d)
{
    if (d->buf_pos >= d->buf_end && ide_load_sectors(d, IDE_BUF_SIZE / 2048)) {
        read_failed(d);
        return;
    }
    uint32_t n = d->buf_end - d->buf_pos;
    if (n > d->bcl)
        n = d->bcl;
    d->drq_end = d->buf_pos + n;
    d->nsector = ATAPI_IR_IO;
    d->lcyl = (uint8_t)n;
    d->hcyl = (uint8_t)(n >> 8);
    ide_post(d, ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ, true);
}

void atapi_chunk_done(struct ide_drive *d)
{
    if (d->buf_pos < d->buf_end || d->sectors_left)
        next_chunk(d);
    else
        atapi_ok(d);
}

/* Data-in phase over what buf holds plus sectors_left sectors from lba. */
static void data_in(struct ide_drive *d)
{
    if (d->atapi_dma) {
        d->xfer = IDE_XFER_DMA_IN;
        d->nsector = ATAPI_IR_IO;
        ide_post(d, ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ, false);
    } else {
        d->xfer = IDE_XFER_ATAPI_IN;
        next_chunk(d);
    }
}

/* Sends buf[0, len), cut to the command's allocation length. */
static void reply(struct ide_drive *d, uint32_t len, uint32_t alloc)
{
    d->buf_pos = 0;
    d->buf_end = len < alloc ? len : alloc;
    d->sectors_left = 0;
    if (!d->buf_end)
        atapi_ok(d);
    else
        data_in(d);
}

static void read_sectors(struct ide_drive *d, uint32_t lba, uint32_t count)
{
    if (lba > d->sectors || count > d->sectors - lba) {
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        return;
    }
    if (!count) {
        atapi_ok(d);
        return;
    }
    d->lba = lba;
    d->sectors_left = count;
    d->buf_pos = d->buf_end = 0;
    data_in(d);
}

/* ---- commands ---- */

static void lba_to_msf(uint32_t lba, uint8_t *p)
{
    uint64_t f = (uint64_t)lba + 150; /* the 2-second pregap */
    uint64_t m = f / (75 * 60);
    p[0] = (uint8_t)(m > 255 ? 255 : m);
    p[1] = (uint8_t)(f / 75 % 60);
    p[2] = (uint8_t)(f % 75);
}

static void toc_entry(uint8_t *p, uint8_t track, uint32_t lba, bool msf)
{
    p[0] = 0;
    p[1] = 0x14; /* ADR 1 (position), control 4 (data track) */
    p[2] = track;
    p[3] = 0;
    if (msf) {
        p[4] = 0;
        lba_to_msf(lba, p + 5);
    } else {
        put32(p + 4, lba);
    }
}

static void read_toc(struct ide_drive *d)
{
    const uint8_t *c = d->cdb;
    uint8_t *b = d->buf;
    bool msf = c[1] & 2;
    unsigned format = c[2] & 0x0F;
    if (!format)
        format = c[9] >> 6; /* the pre-MMC place of the format field */
    uint8_t track = c[6];
    uint32_t alloc = be16(c + 7), len;
    uint32_t leadout = (uint32_t)d->sectors;
    memset(b, 0, 64);
    switch (format) {
    case 0: /* TOC: track 1 and the lead-out */
        if (track > 1 && track != 0xAA) {
            atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
            return;
        }
        len = 4;
        b[2] = b[3] = 1;
        if (track <= 1) {
            toc_entry(b + len, 1, 0, msf);
            len += 8;
        }
        toc_entry(b + len, 0xAA, leadout, msf);
        len += 8;
        break;
    case 1: /* session information: one session starting at track 1 */
        len = 12;
        b[2] = b[3] = 1;
        toc_entry(b + 4, 1, 0, msf);
        break;
    case 2: { /* raw TOC, always in MSF: A0 (first track), A1 (last), A2 (lead-out), track 1 */
        static const uint8_t points[4] = {0xA0, 0xA1, 0xA2, 0x01};
        len = 4;
        b[2] = b[3] = 1;
        for (unsigned i = 0; i < 4; i++) {
            uint8_t *p = b + len;
            p[0] = 1;    /* session */
            p[1] = 0x14;
            p[3] = points[i];
            if (points[i] == 0xA0 || points[i] == 0xA1)
                p[8] = 1; /* track number; disc type 0 (CD-ROM) in p[9] */
            else
                lba_to_msf(points[i] == 0xA2 ? leadout : 0, p + 8);
            len += 11;
        }
        break;
    }
    default:
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    put16(b, len - 2);
    reply(d, len, alloc);
}

static void mode_sense(struct ide_drive *d)
{
    const uint8_t *c = d->cdb;
    uint8_t *b = d->buf;
    unsigned pc = c[2] >> 6, page = c[2] & 0x3F;
    if (pc == 3) {
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_SAVING_UNSUPPORTED, 0);
        return;
    }
    bool changeable = pc == 1; /* nothing is: all parameter bits zero */
    uint32_t len = 8;
    memset(b, 0, 64);
    if (page == 0x01 || page == 0x3F) { /* read error recovery */
        b[len] = 0x01;
        b[len + 1] = 0x06;
        if (!changeable)
            b[len + 3] = 5; /* read retry count */
        len += 8;
    }
    if (page == 0x2A || page == 0x3F) { /* capabilities and mechanical status */
        uint8_t *p = b + len;
        p[0] = 0x2A;
        p[1] = 0x12;
        if (!changeable) {
            p[2] = 0x0B; /* reads CD-R, CD-RW, DVD-ROM */
            p[4] = 0x40; /* multi-session */
            p[6] = (uint8_t)(0x29 | (d->locked ? 0x02 : 0)); /* tray, eject, lock (state) */
            put16(p + 8, 706);   /* maximum speed, kB/s */
            put16(p + 12, 512);  /* buffer, KiB */
            put16(p + 14, 706);  /* current speed */
        }
        len += 20;
    }
    if (len == 8) {
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    put16(b, len - 2);
    reply(d, len, be16(c + 7));
}

static void get_configuration(struct ide_drive *d)
{
    const uint8_t *c = d->cdb;
    uint8_t *b = d->buf;
    unsigned rt = c[1] & 3, start = be16(c + 2);
    if (rt == 3) {
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    bool present = medium_present(d);
    bool dvd = d->sectors > CD_MAX_SECTORS;
    uint16_t profile = !present ? 0 : dvd ? 0x0010 : 0x0008;
    memset(b, 0, 64);
    put16(b + 6, profile);
    uint32_t len = 8;
    /* Features 0 (profile list), 1 (core), 3 (removable medium), all persistent and current. */
    static const uint16_t features[3] = {0x0000, 0x0001, 0x0003};
    for (unsigned i = 0; i < 3; i++) {
        unsigned f = features[i];
        if (rt == 2 ? f != start : f < start)
            continue;
        uint8_t *p = b + len;
        put16(p, f);
        switch (f) {
        case 0x0000:
            p[2] = 0x03;
            p[3] = 8;
            put16(p + 4, 0x0010);
            p[6] = present && dvd;
            put16(p + 8, 0x0008);
            p[10] = present && !dvd;
            len += 12;
            break;
        case 0x0001:
            p[2] = 0x07; /* version 1 */
            p[3] = 4;
            put32(p + 4, 2); /* physical interface: ATAPI */
            len += 8;
            break;
        case 0x0003:
            p[2] = 0x03;
            p[3] = 4;
            p[4] = (uint8_t)(0x29 | (d->locked ? 0x04 : 0)); /* tray, eject, lock */
            len += 8;
            break;
        }
    }
    put32(b, len - 4);
    reply(d, len, be16(c + 7));
}

static void event_status(struct ide_drive *d)
{
    const uint8_t *c = d->cdb;
    uint8_t *b = d->buf;
    if (!(c[1] & 1)) { /* only polled operation */
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    memset(b, 0, 8);
    b[3] = 0x10; /* supported classes: media */
    uint32_t len;
    if (c[4] & 0x10) {
        put16(b, 6);
        b[2] = 4; /* media class */
        b[4] = d->media_event;
        b[5] = (uint8_t)((d->tray_open ? 1 : 0) | (medium_present(d) ? 2 : 0));
        d->media_event = EV_NONE; /* reported once */
        len = 8;
    } else {
        put16(b, 2);
        b[2] = 0x80; /* no event available in the requested classes */
        len = 4;
    }
    reply(d, len, be16(c + 7));
}

static void start_stop(struct ide_drive *d)
{
    uint8_t v = d->cdb[4];
    if (v & 2) { /* LoEj */
        if (!(v & 1)) {
            if (d->locked) {
                atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 0x02);
                return;
            }
            if (!d->tray_open && d->img)
                d->media_event = EV_MEDIA_REMOVAL;
            d->tray_open = true;
        } else if (d->tray_open) {
            d->tray_open = false;
            if (d->img) {
                d->media_event = EV_NEW_MEDIA;
                d->unit_attention = true;
            }
        }
    }
    atapi_ok(d);
}

void atapi_packet(struct ide_drive *d)
{
    memcpy(d->cdb, d->buf, sizeof(d->cdb));
    const uint8_t *c = d->cdb;
    uint8_t *b = d->buf;
    d->buf_pos = d->drq_end = d->buf_end = 0;
    d->sectors_left = 0;
    uint8_t op = c[0];

    /* A pending medium change is reported by the next command, except these four. */
    bool ua_exempt = op == 0x03 || op == 0x12 || op == 0x46 || op == 0x4A;
    if (d->unit_attention && !ua_exempt) {
        d->unit_attention = false;
        atapi_fail(d, SK_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
        return;
    }
    switch (op) {
    case 0x00: case 0x25: case 0x28: case 0xA8: case 0x43: case 0x51: case 0x2B: case 0xBE:
        if (!medium_present(d)) {
            atapi_fail(d, SK_NOT_READY, ASC_NO_MEDIUM, 0);
            return;
        }
        break;
    }

    switch (op) {
    case 0x00: /* TEST UNIT READY */
        atapi_ok(d);
        return;
    case 0x03: { /* REQUEST SENSE */
        uint8_t key = d->sense_key, asc = d->asc, ascq = d->ascq;
        if (d->unit_attention) {
            key = SK_UNIT_ATTENTION;
            asc = ASC_MEDIUM_CHANGED;
            ascq = 0;
            d->unit_attention = false;
        }
        memset(b, 0, 18);
        b[0] = 0x70; /* current error, fixed format */
        b[2] = key;
        b[7] = 10;
        b[12] = asc;
        b[13] = ascq;
        reply(d, 18, c[4]); /* the sense is consumed: atapi_ok clears it */
        return;
    }
    case 0x12: /* INQUIRY */
        if (c[1] & 1) { /* no vital product data pages */
            atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
            return;
        }
        memset(b, 0, 36);
        b[0] = 0x05; /* CD/DVD device */
        b[1] = 0x80; /* removable */
        b[3] = 0x21; /* ATAPI, response format 1 */
        b[4] = 31;
        memcpy(b + 8, "BT86    ", 8);
        memcpy(b + 16, "BT86 DVD-ROM    ", 16);
        memcpy(b + 32, "1.0 ", 4);
        reply(d, 36, (uint32_t)c[3] << 8 | c[4]);
        return;
    case 0x1B:
        start_stop(d);
        return;
    case 0x1E: /* PREVENT ALLOW MEDIUM REMOVAL */
        d->locked = c[4] & 1;
        atapi_ok(d);
        return;
    case 0x25: /* READ CAPACITY */
        put32(b, d->sectors ? (uint32_t)d->sectors - 1 : 0);
        put32(b + 4, 2048);
        reply(d, 8, 8);
        return;
    case 0x28: /* READ(10) */
        read_sectors(d, be32(c + 2), be16(c + 7));
        return;
    case 0xA8: /* READ(12) */
        read_sectors(d, be32(c + 2), be32(c + 6));
        return;
    case 0xBE: { /* READ CD: user data of mode 1 / any sectors, or nothing */
        unsigned type = (c[1] >> 2) & 7;
        uint32_t lba = be32(c + 2), count = (uint32_t)c[6] << 16 | (uint32_t)c[7] << 8 | c[8];
        if ((type != 0 && type != 2) || (c[9] != 0x10 && c[9] != 0)) {
            atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
            return;
        }
        read_sectors(d, lba, c[9] ? count : 0);
        return;
    }
    case 0x2B: /* SEEK(10) */
        if (be32(c + 2) >= d->sectors)
            atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        else
            atapi_ok(d);
        return;
    case 0x43:
        read_toc(d);
        return;
    case 0x46:
        get_configuration(d);
        return;
    case 0x4A:
        event_status(d);
        return;
    case 0x51: /* READ DISC INFORMATION: one complete session with one track */
        if (c[1] & 7) {
            atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
            return;
        }
        memset(b, 0, 34);
        put16(b, 32);
        b[2] = 0x0E; /* complete disc, complete last session */
        b[3] = 1;    /* first track */
        b[4] = 1;    /* sessions */
        b[5] = 1;    /* first track in last session */
        b[6] = 1;    /* last track in last session */
        put32(b + 16, 0xFFFFFFFF); /* no lead-in / lead-out left on a complete disc */
        put32(b + 20, 0xFFFFFFFF);
        reply(d, 34, be16(c + 7));
        return;
    case 0x5A:
        mode_sense(d);
        return;
    case 0xBB: /* SET CD SPEED: nothing to slow down */
        atapi_ok(d);
        return;
    }
    atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
}

void atapi_media_change(struct ide_drive *d, struct block_dev *medium)
{
    d->img = medium;
    d->sectors = 0;
    if (medium) {
        uint64_t n = medium->size / 2048;
        d->sectors = n < 0xFFFFFFFFu ? n : 0xFFFFFFFFu;
    }
    d->tray_open = false;
    d->unit_attention = true;
    d->media_event = medium ? EV_NEW_MEDIA : EV_MEDIA_REMOVAL;
}
