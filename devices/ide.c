/* PIIX3 IDE: task file registers, the ATA command set of hard disks, PIO and bus master DMA,
 * reset, PCI function, save/load. The ATAPI packet commands live in atapi.c. */
#include "devices/ide.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The CHS limit of ATA (16383 cylinders, 16 heads, 63 sectors): capacities above it report
 * this many sectors in CHS terms (ATA-6 6.2.1). */
#define CHS_MAX_SECTORS (16383ull * 16 * 63)

enum { RW_PIO, RW_MULT, RW_DMA };

static struct ide_drive *sel_drive(struct ide_channel *ch) { return &ch->drive[ch->unit_sel & 1]; }

static bool channel_empty(const struct ide_channel *ch)
{
    return ch->drive[0].kind == IDE_NONE && ch->drive[1].kind == IDE_NONE;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* The PIIX's PRD and region address counters carry only through bit 15. */
static uint32_t wrap64k(uint32_t addr, uint32_t n)
{
    return (addr & 0xFFFF0000u) | ((addr + n) & 0xFFFFu);
}

/* ---- interrupts and the BSY period ---- */

static void update_irq(struct ide_channel *ch)
{
    const struct ide_drive *d = sel_drive(ch);
    /* Only the selected device drives INTRQ, and nIEN puts it in high impedance. */
    bool level = d->kind != IDE_NONE && d->intrq && !(ch->devctl & ATA_CTL_NIEN);
    if (level == ch->irq_level)
        return;
    ch->irq_level = level;
    if (level)
        ch->bm_status |= BM_ST_INT; /* the PIIX latches each assertion edge */
    irq_line_set(&ch->irq, level);
}

void ide_set_irq(struct ide_drive *d)
{
    d->intrq = true;
    update_irq(d->ch);
}

static void finish(struct ide_drive *d, uint8_t status, bool irq)
{
    d->status = status;
    if (irq)
        ide_set_irq(d);
    /* A DMA command asserts DMARQ when its BSY period ends. */
    if ((status & ATA_ST_DRQ) && (d->xfer == IDE_XFER_DMA_IN || d->xfer == IDE_XFER_DMA_OUT))
        ide_try_dma(d->ch);
}

static void timer_fire(void *opaque)
{
    struct ide_drive *d = opaque;
    finish(d, d->post_status, d->post_irq);
}

void ide_post(struct ide_drive *d, uint8_t status, bool irq)
{
    struct ide_ctrl *c = d->ch->ctrl;
    if (c->clock && c->latency_ns) {
        d->status = ATA_ST_BSY;
        d->post_status = status;
        d->post_irq = irq;
        vtimer_arm(&d->timer, vclock_now(c->clock) + c->latency_ns);
    } else {
        finish(d, status, irq);
    }
}

/* ---- drive state ---- */

void ide_set_signature(struct ide_drive *d)
{
    d->nsector = d->sector = 1;
    d->hob_nsector = d->hob_sector = d->hob_lcyl = d->hob_hcyl = 0;
    if (d->kind == IDE_CDROM) {
        d->lcyl = 0x14;
        d->hcyl = 0xEB;
    } else {
        d->lcyl = d->hcyl = 0;
    }
}

static void stop_command(struct ide_drive *d)
{
    vtimer_cancel(&d->timer);
    d->xfer = IDE_XFER_NONE;
    d->buf_pos = d->drq_end = d->buf_end = 0;
    d->sectors_left = 0;
    d->intrq = false;
}

/* End of SRST or EXECUTE DEVICE DIAGNOSTIC: the signature, diagnostic code 01h (passed). */
static void soft_reset(struct ide_drive *d)
{
    stop_command(d);
    ide_set_signature(d);
    d->select = 0xA0;
    d->error = 0x01;
    /* A packet device leaves DRDY clear until IDENTIFY PACKET DEVICE. */
    d->status = d->kind == IDE_DISK ? ATA_ST_DRDY | ATA_ST_DSC : 0;
}

static void drive_power_on(struct ide_drive *d)
{
    stop_command(d);
    d->error = d->status = 0;
    d->select = 0xA0;
    d->feature = d->nsector = d->sector = d->lcyl = d->hcyl = 0;
    d->hob_feature = d->hob_nsector = d->hob_sector = d->hob_lcyl = d->hob_hcyl = 0;
    d->mult = 0;
    d->xfer_mode = 0;
    d->wcache = d->lookahead = true;
    d->cur_cyls = d->cyls;
    d->cur_heads = d->heads;
    d->cur_spt = d->spt;
    d->cmd = 0;
    d->lba_mode = d->lba48 = false;
    d->lba = 0;
    d->block = 1;
    d->post_status = 0;
    d->post_irq = false;
    d->bcl = 0xFFFE;
    d->atapi_dma = false;
    memset(d->cdb, 0, sizeof(d->cdb));
    d->sense_key = d->asc = d->ascq = 0;
    d->unit_attention = d->tray_open = d->locked = false;
    d->media_event = 0;
    if (d->kind != IDE_NONE)
        soft_reset(d);
}

/* ---- sector I/O between the image and the buffer ---- */

int ide_load_sectors(struct ide_drive *d, uint32_t max_sectors)
{
    uint64_t n = d->sectors_left;
    if (n > max_sectors)
        n = max_sectors;
    if (n > IDE_BUF_SIZE / d->ss)
        n = IDE_BUF_SIZE / d->ss;
    d->buf_pos = d->buf_end = 0;
    if (!d->img)
        return -ENOMEDIUM;
    /* The medium may have changed under a command: never read past what is there now. */
    if (d->lba > d->sectors || n > d->sectors - d->lba)
        return -EINVAL;
    int r = block_pread(d->img, d->buf, (size_t)n * d->ss, d->lba * d->ss);
    if (r)
        return r;
    d->buf_end = (uint32_t)n * d->ss;
    d->lba += n;
    d->sectors_left -= n;
    return 0;
}

/* Writes buf[0, buf_end) as whole sectors at lba. */
static int store_sectors(struct ide_drive *d)
{
    uint32_t n = d->buf_end / d->ss;
    if (!d->img || n > d->sectors_left || d->lba > d->sectors || n > d->sectors - d->lba)
        return -EINVAL;
    int r = block_pwrite(d->img, d->buf, (size_t)n * d->ss, d->lba * d->ss);
    if (r)
        return r;
    d->lba += n;
    d->sectors_left -= n;
    d->buf_pos = d->buf_end = 0;
    return 0;
}

/* ---- ATA commands ---- */

/* The sector address in the task file, as the command's addressing mode reads it. */
static void set_address(struct ide_drive *d, uint64_t lba)
{
    if (d->lba48) {
        d->sector = (uint8_t)lba;
        d->lcyl = (uint8_t)(lba >> 8);
        d->hcyl = (uint8_t)(lba >> 16);
        d->hob_sector = (uint8_t)(lba >> 24);
        d->hob_lcyl = (uint8_t)(lba >> 32);
        d->hob_hcyl = (uint8_t)(lba >> 40);
    } else if (d->lba_mode) {
        d->sector = (uint8_t)lba;
        d->lcyl = (uint8_t)(lba >> 8);
        d->hcyl = (uint8_t)(lba >> 16);
        d->select = (uint8_t)((d->select & 0xF0) | ((lba >> 24) & 0x0F));
    } else {
        uint32_t track = (uint32_t)d->cur_heads * d->cur_spt;
        uint64_t cyl = lba / track;
        uint32_t rest = (uint32_t)(lba % track);
        d->lcyl = (uint8_t)cyl;
        d->hcyl = (uint8_t)(cyl >> 8);
        d->select = (uint8_t)((d->select & 0xF0) | (rest / d->cur_spt));
        d->sector = (uint8_t)(rest % d->cur_spt + 1);
    }
}

static void ata_error(struct ide_drive *d, uint8_t err)
{
    d->xfer = IDE_XFER_NONE;
    d->sectors_left = 0;
    d->error = err;
    ide_post(d, ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_ERR, true);
}

static void ata_ok(struct ide_drive *d)
{
    d->xfer = IDE_XFER_NONE;
    ide_post(d, ATA_ST_DRDY | ATA_ST_DSC, true);
}

/* After a sector command: the address of the last sector transferred, count 0 (ATA-1 style;
 * later standards leave these registers unspecified on success). */
static void sector_regs_done(struct ide_drive *d)
{
    if (d->lba)
        set_address(d, d->lba - 1);
    d->nsector = d->hob_nsector = 0;
}

static void read_failed(struct ide_drive *d, int err)
{
    set_address(d, d->lba);
    ata_error(d, err == -EINVAL ? ATA_ERR_IDNF : ATA_ERR_UNC);
}

static void write_failed(struct ide_drive *d, int err)
{
    set_address(d, d->lba);
    ata_error(d, err == -EINVAL ? ATA_ERR_IDNF : ATA_ERR_ABRT);
}

static bool decode_address(struct ide_drive *d, bool ext, uint64_t *lba)
{
    d->lba48 = ext;
    d->lba_mode = ext || (d->select & 0x40);
    if (ext) {
        *lba = (uint64_t)d->hob_hcyl << 40 | (uint64_t)d->hob_lcyl << 32 |
               (uint64_t)d->hob_sector << 24 | (uint64_t)d->hcyl << 16 | (uint64_t)d->lcyl << 8 |
               d->sector;
        return true;
    }
    if (d->lba_mode) {
        *lba = (uint64_t)(d->select & 0x0F) << 24 | (uint64_t)d->hcyl << 16 |
               (uint64_t)d->lcyl << 8 | d->sector;
        return true;
    }
    unsigned cyl = d->hcyl << 8 | d->lcyl, head = d->select & 0x0F, s = d->sector;
    if (s == 0 || s > d->cur_spt || head >= d->cur_heads || cyl >= d->cur_cyls)
        return false;
    *lba = ((uint64_t)cyl * d->cur_heads + head) * d->cur_spt + s - 1;
    return true;
}

static uint32_t sector_count(const struct ide_drive *d, bool ext)
{
    if (ext) {
        uint32_t n = (uint32_t)d->hob_nsector << 8 | d->nsector;
        return n ? n : 65536;
    }
    return d->nsector ? d->nsector : 256;
}

/* Checks the addressed range; on failure reports IDNF at the first sector that is not there. */
static bool check_range(struct ide_drive *d, bool ext, uint32_t count, uint64_t *lba)
{
    if (!decode_address(d, ext, lba)) {
        ata_error(d, ATA_ERR_IDNF);
        return false;
    }
    if (*lba >= d->sectors || count > d->sectors - *lba) {
        set_address(d, *lba > d->sectors ? *lba : d->sectors);
        ata_error(d, ATA_ERR_IDNF);
        return false;
    }
    return true;
}

static void pio_in_next(struct ide_drive *d)
{
    int r = ide_load_sectors(d, d->block);
    if (r) {
        read_failed(d, r);
        return;
    }
    d->drq_end = d->buf_end;
    ide_post(d, ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ, true);
}

static void pio_out_next(struct ide_drive *d)
{
    uint64_t n = d->sectors_left < d->block ? d->sectors_left : d->block;
    d->buf_pos = 0;
    d->drq_end = d->buf_end = (uint32_t)n * d->ss;
}

static void ata_rw(struct ide_drive *d, bool write, int mode, bool ext)
{
    if ((mode == RW_MULT && !d->mult) || (write && d->img->read_only)) {
        ata_error(d, ATA_ERR_ABRT);
        return;
    }
    uint32_t count = sector_count(d, ext);
    uint64_t lba;
    if (!check_range(d, ext, count, &lba))
        return;
    d->lba = lba;
    d->sectors_left = count;
    d->buf_pos = d->drq_end = d->buf_end = 0;
    if (mode == RW_DMA) {
        d->xfer = write ? IDE_XFER_DMA_OUT : IDE_XFER_DMA_IN;
        ide_post(d, ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ, false);
        return;
    }
    d->block = mode == RW_MULT ? d->mult : 1;
    if (write) {
        /* The first block is requested at once and without an interrupt. */
        d->xfer = IDE_XFER_PIO_OUT;
        pio_out_next(d);
        d->status = ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ;
    } else {
        d->xfer = IDE_XFER_PIO_IN;
        pio_in_next(d);
    }
}

/* A 512-byte data-in block from the buffer (IDENTIFY). */
static void start_pio_block(struct ide_drive *d, uint32_t len)
{
    d->xfer = IDE_XFER_PIO_IN;
    d->sectors_left = 0;
    d->buf_pos = 0;
    d->drq_end = d->buf_end = len;
    ide_post(d, ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ, true);
}

void ide_put_string(uint16_t *w, unsigned first, const char *s, unsigned chars)
{
    size_t len = strlen(s);
    for (unsigned i = 0; i < chars; i++) {
        uint8_t c = i < len ? (uint8_t)s[i] : ' ';
        if (i & 1)
            w[first + i / 2] |= c;
        else
            w[first + i / 2] = (uint16_t)(c << 8); /* first character in the high byte */
    }
}

void ide_finish_identify(uint16_t *w, uint8_t *out)
{
    /* Word 255: signature A5h and a checksum making all 512 bytes sum to zero. */
    uint8_t sum = 0xA5;
    for (unsigned i = 0; i < 255; i++)
        sum = (uint8_t)(sum + (w[i] & 0xFF) + (w[i] >> 8));
    w[255] = (uint16_t)(0xA5 | (uint8_t)-sum << 8);
    for (unsigned i = 0; i < 256; i++) {
        out[2 * i] = (uint8_t)w[i];
        out[2 * i + 1] = (uint8_t)(w[i] >> 8);
    }
}

static void identify_disk(struct ide_drive *d)
{
    uint16_t w[256] = {0};
    w[0] = 0x0040; /* fixed, non-removable ATA device */
    w[1] = d->cyls;
    w[3] = d->heads;
    w[6] = d->spt;
    ide_put_string(w, 10, d->serial, 20);
    ide_put_string(w, 23, d->fw, 8);
    ide_put_string(w, 27, d->model, 40);
    w[47] = 0x8000 | IDE_MAX_MULT;
    w[48] = 1;      /* 32-bit data port accesses (pre-ATA-4 meaning; reserved since) */
    w[49] = 0x0B00; /* IORDY, LBA, DMA */
    w[50] = 0x4000;
    w[51] = w[52] = 0x0200;
    w[53] = 0x0007; /* words 54-58, 64-70 and 88 are valid */
    w[54] = d->cur_cyls;
    w[55] = d->cur_heads;
    w[56] = d->cur_spt;
    uint32_t cur = (uint32_t)d->cur_cyls * d->cur_heads * d->cur_spt;
    w[57] = (uint16_t)cur;
    w[58] = (uint16_t)(cur >> 16);
    w[59] = d->mult ? 0x0100 | d->mult : 0;
    uint32_t lba28 = d->sectors < 0x0FFFFFFF ? (uint32_t)d->sectors : 0x0FFFFFFF;
    w[60] = (uint16_t)lba28;
    w[61] = (uint16_t)(lba28 >> 16);
    w[63] = 0x0007; /* multiword DMA 0-2 */
    if ((d->xfer_mode & 0xF8) == 0x20)
        w[63] |= (uint16_t)(0x100 << (d->xfer_mode & 7));
    w[64] = 0x0003; /* PIO 3 and 4 */
    w[65] = w[66] = w[67] = w[68] = 120;
    w[80] = 0x007E; /* ATA-1 to ATA-6 */
    w[82] = 0x4068; /* NOP, look-ahead, write cache, power management */
    w[83] = 0x7400; /* FLUSH CACHE EXT, FLUSH CACHE, 48-bit addresses */
    w[84] = 0x4000;
    w[85] = (uint16_t)(0x4008 | (d->lookahead ? 0x40 : 0) | (d->wcache ? 0x20 : 0));
    w[86] = 0x3400;
    w[87] = 0x4000;
    w[88] = 0x003F; /* UDMA 0-5 */
    if ((d->xfer_mode & 0xF8) == 0x40)
        w[88] |= (uint16_t)(0x100 << (d->xfer_mode & 7));
    /* Hardware reset result: jumpered, diagnostics passed, 80-conductor cable. */
    w[93] = d->unit ? 0x6B00 : 0x600B;
    for (unsigned i = 0; i < 4; i++)
        w[100 + i] = (uint16_t)(d->sectors >> (16 * i));
    ide_finish_identify(w, d->buf);
    start_pio_block(d, 512);
}

static void set_features(struct ide_drive *d)
{
    bool disk = d->kind == IDE_DISK;
    switch (d->feature) {
    case 0x03: {
        uint8_t m = d->nsector;
        bool ok = m <= 0x01 || (m >= 0x08 && m <= 0x0C) || (m >= 0x20 && m <= 0x22) ||
                  (m >= 0x40 && m <= 0x45);
        if (!ok)
            break;
        d->xfer_mode = m <= 0x01 ? 0 : m;
        ata_ok(d);
        return;
    }
    case 0x02:
    case 0x82:
        if (!disk)
            break;
        d->wcache = d->feature == 0x02;
        ata_ok(d);
        return;
    case 0xAA:
    case 0x55:
        if (!disk)
            break;
        d->lookahead = d->feature == 0xAA;
        ata_ok(d);
        return;
    case 0x66:
    case 0xCC: /* (no) reverting to power-on defaults: settings are kept across SRST anyway */
        ata_ok(d);
        return;
    }
    ata_error(d, ATA_ERR_ABRT);
}

static void init_device_params(struct ide_drive *d)
{
    unsigned spt = d->nsector, heads = (d->select & 0x0F) + 1u;
    if (!spt) {
        ata_error(d, ATA_ERR_ABRT);
        return;
    }
    uint64_t t = d->sectors < CHS_MAX_SECTORS ? d->sectors : CHS_MAX_SECTORS;
    uint64_t cyls = t / (heads * spt);
    d->cur_spt = (uint16_t)spt;
    d->cur_heads = (uint16_t)heads;
    d->cur_cyls = (uint16_t)(cyls > 65535 ? 65535 : cyls);
    ata_ok(d);
}

static void exec_diagnostic(struct ide_channel *ch)
{
    /* Both devices run it; device 0 reports for the pair (device 1 alone if it is alone). */
    unsigned target = ch->drive[0].kind != IDE_NONE ? 0 : 1;
    for (unsigned u = 0; u < 2; u++) {
        struct ide_drive *d = &ch->drive[u];
        if (d->kind == IDE_NONE)
            continue;
        soft_reset(d);
        d->select = (uint8_t)(0xA0 | target << 4);
        ide_post(d, d->status, u == target);
    }
    ch->unit_sel = (uint8_t)target;
    update_irq(ch);
}

static void exec_command(struct ide_drive *d, uint8_t cmd)
{
    struct ide_channel *ch = d->ch;
    stop_command(d);
    update_irq(ch); /* writing the command register clears INTRQ */
    d->cmd = cmd;
    d->error = 0;
    bool disk = d->kind == IDE_DISK;

    switch (cmd) {
    case 0xEC: /* IDENTIFY DEVICE */
        if (disk) {
            identify_disk(d);
        } else {
            /* A packet device aborts it and shows its signature, which is how hosts tell. */
            ide_set_signature(d);
            ata_error(d, ATA_ERR_ABRT);
        }
        return;
    case 0xA1: /* IDENTIFY PACKET DEVICE */
        if (disk)
            break;
        {
            uint16_t w[256] = {0};
            atapi_identify(d, w);
            ide_finish_identify(w, d->buf);
            start_pio_block(d, 512);
        }
        return;
    case 0xA0: /* PACKET */
        if (disk)
            break;
        d->atapi_dma = d->feature & 0x01;
        d->bcl = (uint16_t)((d->hcyl << 8 | d->lcyl) & 0xFFFE);
        if (!d->bcl)
            d->bcl = 0xFFFE; /* 0 is not a valid limit: take the largest */
        d->xfer = IDE_XFER_PACKET;
        d->buf_pos = 0;
        d->drq_end = d->buf_end = 12;
        d->nsector = ATAPI_IR_COD;
        d->status = ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ;
        return;
    case 0x08: /* DEVICE RESET: no interrupt, DEV bit kept */
        if (disk)
            break;
        {
            uint8_t sel = d->select;
            soft_reset(d);
            d->select = sel;
        }
        return;
    case 0x90:
        exec_diagnostic(ch);
        return;
    case 0xEF:
        set_features(d);
        return;
    case 0xE5: /* CHECK POWER MODE: always active */
        d->nsector = 0xFF;
        ata_ok(d);
        return;
    case 0xE0: case 0xE1: case 0xE2: case 0xE3: case 0xE6:
    case 0x94: case 0x95: case 0x96: case 0x97:
        ata_ok(d); /* power management: nothing spins, nothing to do */
        return;
    }
    if (!disk) {
        ata_error(d, ATA_ERR_ABRT);
        return;
    }

    switch (cmd) {
    case 0x20: case 0x21: ata_rw(d, false, RW_PIO, false); return;
    case 0x24: ata_rw(d, false, RW_PIO, true); return;
    case 0xC4: ata_rw(d, false, RW_MULT, false); return;
    case 0x29: ata_rw(d, false, RW_MULT, true); return;
    case 0xC8: case 0xC9: ata_rw(d, false, RW_DMA, false); return;
    case 0x25: ata_rw(d, false, RW_DMA, true); return;
    case 0x30: case 0x31: ata_rw(d, true, RW_PIO, false); return;
    case 0x34: ata_rw(d, true, RW_PIO, true); return;
    case 0xC5: ata_rw(d, true, RW_MULT, false); return;
    case 0x39: ata_rw(d, true, RW_MULT, true); return;
    case 0xCA: case 0xCB: ata_rw(d, true, RW_DMA, false); return;
    case 0x35: ata_rw(d, true, RW_DMA, true); return;
    case 0x40: case 0x41: case 0x42: { /* READ VERIFY SECTORS (EXT) */
        bool ext = cmd == 0x42;
        uint32_t count = sector_count(d, ext);
        uint64_t lba;
        if (check_range(d, ext, count, &lba)) {
            d->lba = lba + count;
            sector_regs_done(d);
            ata_ok(d);
        }
        return;
    }
    case 0x70: { /* SEEK */
        uint64_t lba;
        if (check_range(d, false, 1, &lba))
            ata_ok(d);
        return;
    }
    case 0x91:
        init_device_params(d);
        return;
    case 0xC6: { /* SET MULTIPLE MODE: a power of two up to word 47's limit; 0 disables */
        uint8_t n = d->nsector;
        if (n > IDE_MAX_MULT || (n & (n - 1))) {
            ata_error(d, ATA_ERR_ABRT);
        } else {
            d->mult = n;
            ata_ok(d);
        }
        return;
    }
    case 0xE7: case 0xEA: /* FLUSH CACHE (EXT): what the guest wrote is made durable */
        if (block_flush(d->img))
            ata_error(d, ATA_ERR_ABRT);
        else
            ata_ok(d);
        return;
    }
    if (cmd >= 0x10 && cmd <= 0x1F) { /* RECALIBRATE */
        ata_ok(d);
        return;
    }
    ata_error(d, ATA_ERR_ABRT);
}

/* ---- the data port ---- */

static void in_block_done(struct ide_drive *d)
{
    if (d->xfer == IDE_XFER_ATAPI_IN) {
        atapi_chunk_done(d);
    } else if (d->sectors_left) {
        pio_in_next(d);
    } else {
        if (d->cmd != 0xEC && d->cmd != 0xA1)
            sector_regs_done(d);
        d->xfer = IDE_XFER_NONE;
        d->status = ATA_ST_DRDY | ATA_ST_DSC; /* data-in ends without an interrupt */
    }
}

static void out_block_done(struct ide_drive *d)
{
    if (d->xfer == IDE_XFER_PACKET) {
        atapi_packet(d);
        return;
    }
    int r = store_sectors(d);
    if (r) {
        write_failed(d, r);
        return;
    }
    if (d->sectors_left) {
        pio_out_next(d);
        ide_post(d, ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ, true);
    } else {
        sector_regs_done(d);
        ata_ok(d);
    }
}

static bool drq_phase(const struct ide_drive *d)
{
    return (d->status & (ATA_ST_BSY | ATA_ST_DRQ)) == ATA_ST_DRQ && d->buf_pos < d->drq_end &&
           d->drq_end <= IDE_BUF_SIZE;
}

static uint16_t data_in16(struct ide_drive *d)
{
    if (!drq_phase(d) || (d->xfer != IDE_XFER_PIO_IN && d->xfer != IDE_XFER_ATAPI_IN))
        return 0xFFFF;
    uint32_t p = d->buf_pos;
    uint16_t v = d->buf[p];
    if (p + 1 < d->drq_end)
        v |= (uint16_t)(d->buf[p + 1] << 8); /* an odd byte count ends on a padded word */
    d->buf_pos = p + 2 < d->drq_end ? p + 2 : d->drq_end;
    if (d->buf_pos == d->drq_end)
        in_block_done(d);
    return v;
}

static void data_out16(struct ide_drive *d, uint16_t v)
{
    if (!drq_phase(d) || (d->xfer != IDE_XFER_PIO_OUT && d->xfer != IDE_XFER_PACKET))
        return;
    uint32_t p = d->buf_pos;
    d->buf[p] = (uint8_t)v;
    if (p + 1 < d->drq_end)
        d->buf[p + 1] = (uint8_t)(v >> 8);
    d->buf_pos = p + 2 < d->drq_end ? p + 2 : d->drq_end;
    if (d->buf_pos == d->drq_end)
        out_block_done(d);
}

/* ---- task file registers ---- */

static uint8_t reg_read(struct ide_channel *ch, unsigned reg)
{
    if (channel_empty(ch))
        return 0xFF; /* nothing drives the bus */
    struct ide_drive *d = sel_drive(ch);
    bool hob = ch->devctl & ATA_CTL_HOB;
    if (reg == 6)
        return d->select;
    if (d->kind == IDE_NONE)
        return 0; /* device 1 absent: device 0 answers with zeros */
    switch (reg) {
    case 1: return d->error;
    case 2: return hob ? d->hob_nsector : d->nsector;
    case 3: return hob ? d->hob_sector : d->sector;
    case 4: return hob ? d->hob_lcyl : d->lcyl;
    case 5: return hob ? d->hob_hcyl : d->hcyl;
    default: /* 7: status; reading it acknowledges the interrupt */
        d->intrq = false;
        update_irq(ch);
        return d->status;
    }
}

static void reg_write(struct ide_channel *ch, unsigned reg, uint8_t v)
{
    struct ide_drive *sel = sel_drive(ch);
    ch->devctl &= (uint8_t)~ATA_CTL_HOB;
    if (reg == 7) {
        if (sel->kind == IDE_NONE || (ch->devctl & ATA_CTL_SRST))
            return;
        /* While BSY only DEVICE RESET gets through, and only to a packet device. */
        if ((sel->status & ATA_ST_BSY) && !(sel->kind == IDE_CDROM && v == 0x08))
            return;
        exec_command(sel, v);
        return;
    }
    if (sel->status & ATA_ST_BSY)
        return;
    /* Both devices latch every write; the DEV bit says which one will act. */
    for (unsigned u = 0; u < 2; u++) {
        struct ide_drive *d = &ch->drive[u];
        switch (reg) {
        case 1: d->hob_feature = d->feature; d->feature = v; break;
        case 2: d->hob_nsector = d->nsector; d->nsector = v; break;
        case 3: d->hob_sector = d->sector; d->sector = v; break;
        case 4: d->hob_lcyl = d->lcyl; d->lcyl = v; break;
        case 5: d->hob_hcyl = d->hcyl; d->hcyl = v; break;
        case 6: d->select = v | 0xA0; break;
        }
    }
    if (reg == 6) {
        ch->unit_sel = (v >> 4) & 1;
        update_irq(ch);
    }
}

static void devctl_write(struct ide_channel *ch, uint8_t v)
{
    uint8_t old = ch->devctl;
    ch->devctl = v;
    for (unsigned u = 0; u < 2; u++) {
        struct ide_drive *d = &ch->drive[u];
        if (d->kind == IDE_NONE)
            continue;
        if ((v & ATA_CTL_SRST) && !(old & ATA_CTL_SRST)) {
            stop_command(d);
            d->status = ATA_ST_BSY;
        } else if (!(v & ATA_CTL_SRST) && (old & ATA_CTL_SRST)) {
            soft_reset(d);
        }
    }
    if (!(v & ATA_CTL_SRST) && (old & ATA_CTL_SRST))
        ch->unit_sel = 0;
    update_irq(ch);
}

static uint32_t cmd_io_read(void *opaque, uint16_t port, unsigned size)
{
    struct ide_channel *ch = opaque;
    unsigned reg = port & 7;
    if (reg == 0) {
        /* A 32-bit access is two 16-bit cycles on the IDE bus; a byte access one, halved. */
        struct ide_drive *d = sel_drive(ch);
        uint32_t v = data_in16(d);
        if (size == 4)
            v |= (uint32_t)data_in16(d) << 16;
        return size == 1 ? v & 0xFF : v;
    }
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)(reg + i <= 7 ? reg_read(ch, reg + i) : 0xFF) << (8 * i);
    return v;
}

static void cmd_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct ide_channel *ch = opaque;
    unsigned reg = port & 7;
    if (reg == 0) {
        struct ide_drive *d = sel_drive(ch);
        data_out16(d, (uint16_t)(size == 1 ? value & 0xFF : value));
        if (size == 4)
            data_out16(d, (uint16_t)(value >> 16));
        return;
    }
    for (unsigned i = 0; i < size && reg + i <= 7; i++)
        reg_write(ch, reg + i, (uint8_t)(value >> (8 * i)));
}

static uint32_t ctl_io_read(void *opaque, uint16_t port, unsigned size)
{
    (void)port;
    struct ide_channel *ch = opaque;
    const struct ide_drive *d = sel_drive(ch);
    /* Alternate status: the same byte, without acknowledging anything. */
    uint32_t v = channel_empty(ch) ? 0xFF : d->kind == IDE_NONE ? 0 : d->status;
    if (size == 2)
        v |= 0xFF00; /* 0x3F7 / 0x377 belong to the floppy controller */
    else if (size == 4)
        v |= 0xFFFFFF00u;
    return v;
}

static void ctl_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    (void)port;
    (void)size;
    devctl_write(opaque, (uint8_t)value);
}

static const struct ioport_ops cmd_io_ops = {cmd_io_read, cmd_io_write};
static const struct ioport_ops ctl_io_ops = {ctl_io_read, ctl_io_write};

/* ---- bus master DMA ---- */

static void dma_done(struct ide_drive *d)
{
    if (d->kind == IDE_CDROM) {
        atapi_dma_done(d);
        return;
    }
    sector_regs_done(d);
    ata_ok(d);
}

/* A PCI master abort: the PIIX sets Error and stops; the device ends the command with an
 * error rather than wait forever for data that will not come. */
static void dma_bus_error(struct ide_channel *ch, struct ide_drive *d)
{
    ch->bm_status = (uint8_t)((ch->bm_status | BM_ST_ERROR) & ~BM_ST_ACTIVE);
    if (d->kind == IDE_CDROM) {
        atapi_fail(d, 0x0B, 0x00, 0x00); /* ABORTED COMMAND */
    } else {
        set_address(d, d->lba);
        ata_error(d, ATA_ERR_ABRT);
    }
}

static void dma_device_error(struct ide_drive *d, int err, bool write)
{
    if (d->kind == IDE_CDROM)
        atapi_fail(d, 0x03, 0x11, 0x00); /* MEDIUM ERROR, unrecovered read error */
    else if (write)
        write_failed(d, err);
    else
        read_failed(d, err);
}

static void run_dma(struct ide_channel *ch, struct ide_drive *d)
{
    struct ide_ctrl *c = ch->ctrl;
    bool in = d->xfer == IDE_XFER_DMA_IN;
    for (;;) {
        /* Device side: data to send, or a chunk to fill. */
        if (d->buf_pos >= d->buf_end) {
            if (in) {
                if (!d->sectors_left)
                    break;
                int r = ide_load_sectors(d, IDE_BUF_SIZE / d->ss);
                if (r) {
                    dma_device_error(d, r, false);
                    return;
                }
            } else {
                if (d->buf_end) {
                    int r = store_sectors(d);
                    if (r) {
                        dma_device_error(d, r, true);
                        return;
                    }
                }
                if (!d->sectors_left)
                    break;
                uint64_t n = d->sectors_left;
                if (n > IDE_BUF_SIZE / d->ss)
                    n = IDE_BUF_SIZE / d->ss;
                d->buf_pos = 0;
                d->buf_end = (uint32_t)n * d->ss;
            }
        }
        /* Controller side: the current region, or the next PRD. */
        if (!ch->bm_left) {
            if (ch->bm_eot) {
                /* Short table: the controller stops, the device keeps waiting, no interrupt. */
                ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
                return;
            }
            uint8_t e[8];
            if (!memmap_copy_from(c->mem, ch->bm_next, e, 4) ||
                !memmap_copy_from(c->mem, wrap64k(ch->bm_next, 4), e + 4, 4)) {
                dma_bus_error(ch, d);
                return;
            }
            ch->bm_addr = ((uint32_t)le16(e) | (uint32_t)le16(e + 2) << 16) & ~1u;
            uint32_t count = le16(e + 4) & 0xFFFE;
            ch->bm_left = count ? count : 0x10000;
            ch->bm_eot = e[7] & 0x80;
            ch->bm_next = wrap64k(ch->bm_next, 8);
        }
        uint32_t n = d->buf_end - d->buf_pos;
        if (n > ch->bm_left)
            n = ch->bm_left;
        if (n > 0x10000 - (ch->bm_addr & 0xFFFF))
            n = 0x10000 - (ch->bm_addr & 0xFFFF);
        bool ok = in ? memmap_copy_to(c->mem, ch->bm_addr, d->buf + d->buf_pos, n)
                     : memmap_copy_from(c->mem, ch->bm_addr, d->buf + d->buf_pos, n);
        if (!ok) {
            dma_bus_error(ch, d);
            return;
        }
        ch->bm_addr = wrap64k(ch->bm_addr, n);
        ch->bm_left -= n;
        d->buf_pos += n;
    }
    /* Exactly exhausted table: Active drops now; a longer table stays Active. */
    if (!ch->bm_left && ch->bm_eot)
        ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
    dma_done(d);
}

void ide_try_dma(struct ide_channel *ch)
{
    if (!(ch->bm_cmd & BM_CMD_START) || !(ch->bm_status & BM_ST_ACTIVE) ||
        !(pci_get16(&ch->ctrl->pci, PCI_COMMAND) & PCI_COMMAND_MASTER))
        return;
    /* DMARQ comes from whichever device has a DMA command in its data phase. */
    for (unsigned k = 0; k < 2; k++) {
        struct ide_drive *d = &ch->drive[(ch->unit_sel + k) & 1];
        if ((d->xfer == IDE_XFER_DMA_IN || d->xfer == IDE_XFER_DMA_OUT) &&
            (d->status & (ATA_ST_BSY | ATA_ST_DRQ)) == ATA_ST_DRQ && d->buf_pos <= d->buf_end &&
            d->buf_end <= IDE_BUF_SIZE) {
            run_dma(ch, d);
            return;
        }
    }
}

static uint8_t bm_read8(struct ide_ctrl *c, unsigned off)
{
    if (off >= 16)
        return 0xFF;
    const struct ide_channel *ch = &c->ch[off >> 3];
    switch (off & 7) {
    case BM_CMD: return ch->bm_cmd;
    case BM_STATUS: return ch->bm_status;
    case 4: case 5: case 6: case 7: return (uint8_t)(ch->bm_prd >> (8 * ((off & 7) - 4)));
    default: return 0;
    }
}

static void bm_write8(struct ide_ctrl *c, unsigned off, uint8_t v)
{
    if (off >= 16)
        return;
    struct ide_channel *ch = &c->ch[off >> 3];
    switch (off & 7) {
    case BM_CMD: {
        uint8_t old = ch->bm_cmd;
        ch->bm_cmd = v & (BM_CMD_START | BM_CMD_WRITE);
        if ((v & BM_CMD_START) && !(old & BM_CMD_START)) {
            /* Start: fetch from the top of the table again. */
            ch->bm_status |= BM_ST_ACTIVE;
            ch->bm_next = ch->bm_prd;
            ch->bm_left = 0;
            ch->bm_eot = false;
            ide_try_dma(ch);
        } else if (!(v & BM_CMD_START) && (old & BM_CMD_START)) {
            ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
        }
        break;
    }
    case BM_STATUS:
        ch->bm_status = (uint8_t)((ch->bm_status & ~(BM_ST_DMA0 | BM_ST_DMA1)) |
                                  (v & (BM_ST_DMA0 | BM_ST_DMA1)));
        ch->bm_status &= (uint8_t)~(v & (BM_ST_ERROR | BM_ST_INT));
        break;
    case 4: case 5: case 6: case 7: {
        unsigned sh = 8 * ((off & 7) - 4);
        ch->bm_prd = (ch->bm_prd & ~(0xFFu << sh)) | (uint32_t)v << sh;
        ch->bm_prd &= ~3u; /* dword aligned */
        break;
    }
    }
}

uint32_t ide_bm_read(struct ide_ctrl *c, unsigned off, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)bm_read8(c, off + i) << (8 * i);
    return v;
}

void ide_bm_write(struct ide_ctrl *c, unsigned off, uint32_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        bm_write8(c, off + i, (uint8_t)(v >> (8 * i)));
}

static uint32_t bm_io_read(void *opaque, uint16_t port, unsigned size)
{
    return ide_bm_read(opaque, port & 15, size);
}

static void bm_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    ide_bm_write(opaque, port & 15, value, size);
}

const struct ioport_ops ide_bm_io_ops = {bm_io_read, bm_io_write};

/* ---- PCI function ---- */

static void bar_check(struct ide_ctrl *c)
{
    uint32_t base = pci_bar_address(&c->pci, 4);
    if (base > 0xFFF0)
        base = 0;
    if (base == c->bm_base)
        return;
    uint32_t old = c->bm_base;
    c->bm_base = base;
    if (c->bm_moved)
        c->bm_moved(c->bm_moved_opaque, old, base);
}

static void pci_written(struct pci_function *f, unsigned off, unsigned size)
{
    (void)off;
    (void)size;
    struct ide_ctrl *c = f->opaque;
    bar_check(c);
    /* Bus master enable may just have been set under a waiting transfer. */
    ide_try_dma(&c->ch[0]);
    ide_try_dma(&c->ch[1]);
}

static void pci_setup(struct ide_ctrl *c)
{
    struct pci_function *f = &c->pci;
    /* Mass storage, IDE, prog-if 80h: bus master capable, both channels in legacy mode. */
    pci_function_init(f, 0x8086, 0x7010, 0x00, 0x010180, 0x00);
    pci_set_bar(f, 4, 16, true, false);
    /* BMIBA's upper half stays writable, as in QEMU: SeaBIOS sizes I/O BARs with 32-bit
     * arithmetic and takes read-only zeros there for a huge BAR. Beyond 64K it decodes nothing. */
    pci_set16(f, PCI_STATUS, 0x0280); /* medium DEVSEL timing, fast back-to-back */
    for (unsigned o = 0x40; o <= 0x44; o++)
        f->wmask[o] = 0xFF; /* IDETIM primary/secondary, SIDETIM: stored, no effect */
    f->config_written = pci_written;
    f->opaque = c;
}

/* ---- device interface ---- */

static void ide_reset(void *opaque)
{
    struct ide_ctrl *c = opaque;
    pci_setup(c);
    bar_check(c);
    for (unsigned i = 0; i < 2; i++) {
        struct ide_channel *ch = &c->ch[i];
        ch->devctl = 0;
        ch->unit_sel = 0;
        ch->bm_cmd = ch->bm_status = 0;
        ch->bm_prd = ch->bm_next = ch->bm_addr = ch->bm_left = 0;
        ch->bm_eot = false;
        for (unsigned u = 0; u < 2; u++)
            drive_power_on(&ch->drive[u]);
        ch->irq_level = false;
        irq_line_set(&ch->irq, false);
    }
}

static void save_drive(const struct ide_drive *d, struct state_writer *w)
{
    sw_u8(w, (uint8_t)d->kind);
    sw_u64(w, d->sectors);
    sw_u8(w, d->error);
    sw_u8(w, d->status);
    sw_u8(w, d->select);
    uint8_t regs[10] = {d->feature, d->nsector, d->sector, d->lcyl, d->hcyl,
                        d->hob_feature, d->hob_nsector, d->hob_sector, d->hob_lcyl, d->hob_hcyl};
    sw_bytes(w, regs, sizeof(regs));
    sw_u8(w, (uint8_t)(d->intrq | d->wcache << 1 | d->lookahead << 2 | d->lba_mode << 3 |
                       d->lba48 << 4 | d->post_irq << 5 | d->atapi_dma << 6));
    sw_u8(w, (uint8_t)(d->unit_attention | d->tray_open << 1 | d->locked << 2));
    sw_u8(w, d->mult);
    sw_u8(w, d->xfer_mode);
    sw_u16(w, d->cur_cyls);
    sw_u16(w, d->cur_heads);
    sw_u16(w, d->cur_spt);
    sw_u8(w, d->cmd);
    sw_u8(w, d->xfer);
    sw_u64(w, d->lba);
    sw_u64(w, d->sectors_left);
    sw_u32(w, d->block);
    sw_u32(w, d->buf_pos);
    sw_u32(w, d->drq_end);
    sw_u32(w, d->buf_end);
    sw_u8(w, d->post_status);
    sw_u8(w, d->timer.armed);
    sw_u64(w, d->timer.armed ? d->timer.deadline : 0);
    sw_u16(w, d->bcl);
    sw_bytes(w, d->cdb, sizeof(d->cdb));
    sw_u8(w, d->sense_key);
    sw_u8(w, d->asc);
    sw_u8(w, d->ascq);
    sw_u8(w, d->media_event);
    sw_bytes(w, d->buf, d->buf_end <= IDE_BUF_SIZE ? d->buf_end : 0);
}

static bool xfer_allowed(const struct ide_drive *d, uint8_t x)
{
    if (x == IDE_XFER_NONE)
        return true;
    switch (d->kind) {
    case IDE_DISK:
        if (x == IDE_XFER_PIO_OUT || x == IDE_XFER_DMA_OUT)
            return !d->img->read_only;
        return x == IDE_XFER_PIO_IN || x == IDE_XFER_DMA_IN;
    case IDE_CDROM:
        return x == IDE_XFER_PIO_IN || x == IDE_XFER_PACKET || x == IDE_XFER_ATAPI_IN ||
               x == IDE_XFER_DMA_IN;
    default:
        return false;
    }
}

/* Reads straight into the drive; a failure makes device_load reset the controller. */
static int load_drive(struct ide_drive *d, struct state_reader *r, bool *armed, uint64_t *deadline)
{
    uint8_t kind = sr_u8(r);
    uint64_t sectors = sr_u64(r);
    if (r->error || kind != d->kind || sectors != d->sectors)
        return -1; /* a different drive or medium is attached now */
    d->error = sr_u8(r);
    d->status = sr_u8(r);
    d->select = sr_u8(r);
    uint8_t regs[10];
    sr_bytes(r, regs, sizeof(regs));
    d->feature = regs[0];
    d->nsector = regs[1];
    d->sector = regs[2];
    d->lcyl = regs[3];
    d->hcyl = regs[4];
    d->hob_feature = regs[5];
    d->hob_nsector = regs[6];
    d->hob_sector = regs[7];
    d->hob_lcyl = regs[8];
    d->hob_hcyl = regs[9];
    uint8_t f1 = sr_u8(r), f2 = sr_u8(r);
    d->intrq = f1 & 1;
    d->wcache = f1 & 2;
    d->lookahead = f1 & 4;
    d->lba_mode = f1 & 8;
    d->lba48 = f1 & 16;
    d->post_irq = f1 & 32;
    d->atapi_dma = f1 & 64;
    d->unit_attention = f2 & 1;
    d->tray_open = f2 & 2;
    d->locked = f2 & 4;
    d->mult = sr_u8(r);
    d->xfer_mode = sr_u8(r);
    d->cur_cyls = sr_u16(r);
    d->cur_heads = sr_u16(r);
    d->cur_spt = sr_u16(r);
    d->cmd = sr_u8(r);
    uint8_t xfer = sr_u8(r);
    d->lba = sr_u64(r);
    d->sectors_left = sr_u64(r);
    d->block = sr_u32(r);
    d->buf_pos = sr_u32(r);
    d->drq_end = sr_u32(r);
    d->buf_end = sr_u32(r);
    d->post_status = sr_u8(r);
    *armed = sr_u8(r);
    *deadline = sr_u64(r);
    d->bcl = sr_u16(r);
    sr_bytes(r, d->cdb, sizeof(d->cdb));
    d->sense_key = sr_u8(r);
    d->asc = sr_u8(r);
    d->ascq = sr_u8(r);
    d->media_event = sr_u8(r);
    if (r->error || (f1 & 0x80) || (f2 & ~7) || !xfer_allowed(d, xfer) ||
        d->buf_end > IDE_BUF_SIZE || d->drq_end > d->buf_end || d->buf_pos > d->drq_end ||
        d->lba > d->sectors || d->sectors_left > d->sectors - d->lba ||
        d->mult > IDE_MAX_MULT || (d->mult & (d->mult - 1)) || d->block < 1 ||
        d->block > IDE_MAX_MULT || !d->bcl || (d->bcl & 1) || (*armed && !d->ch->ctrl->clock))
        return -1;
    if (d->kind == IDE_DISK &&
        (d->cur_heads < 1 || d->cur_heads > 16 || d->cur_spt < 1 || d->cur_spt > 255))
        return -1;
    d->xfer = xfer;
    sr_bytes(r, d->buf, d->buf_end);
    return r->error ? -1 : 0;
}

static void ide_save(const void *opaque, struct state_writer *w)
{
    const struct ide_ctrl *c = opaque;
    sw_bytes(w, c->pci.config, sizeof(c->pci.config));
    for (unsigned i = 0; i < 2; i++) {
        const struct ide_channel *ch = &c->ch[i];
        sw_u8(w, ch->devctl);
        sw_u8(w, ch->unit_sel);
        sw_u8(w, ch->bm_cmd);
        sw_u8(w, ch->bm_status);
        sw_u32(w, ch->bm_prd);
        sw_u32(w, ch->bm_next);
        sw_u32(w, ch->bm_addr);
        sw_u32(w, ch->bm_left);
        sw_u8(w, ch->bm_eot);
        for (unsigned u = 0; u < 2; u++)
            save_drive(&ch->drive[u], w);
    }
}

static int ide_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct ide_ctrl *c = opaque;
    if (version != 1)
        return -1;
    for (unsigned i = 0; i < 4; i++)
        vtimer_cancel(&c->ch[i / 2].drive[i % 2].timer);
    uint8_t cfg[256];
    sr_bytes(r, cfg, sizeof(cfg));
    if (r->error)
        return -1;
    /* Only what the guest could have written is taken: the identity stays this device's. */
    for (unsigned o = 0; o < 256; o++)
        c->pci.config[o] = (uint8_t)((c->pci.config[o] & ~c->pci.wmask[o]) |
                                     (cfg[o] & c->pci.wmask[o]));
    bool armed[4];
    uint64_t deadline[4];
    for (unsigned i = 0; i < 2; i++) {
        struct ide_channel *ch = &c->ch[i];
        ch->devctl = sr_u8(r);
        ch->unit_sel = sr_u8(r);
        ch->bm_cmd = sr_u8(r);
        ch->bm_status = sr_u8(r);
        ch->bm_prd = sr_u32(r);
        ch->bm_next = sr_u32(r);
        ch->bm_addr = sr_u32(r);
        ch->bm_left = sr_u32(r);
        uint8_t eot = sr_u8(r);
        if (r->error || ch->unit_sel > 1 || (ch->bm_cmd & ~(BM_CMD_START | BM_CMD_WRITE)) ||
            (ch->bm_status & 0x98) || (ch->bm_prd & 3) || ch->bm_left > 0x10000 || eot > 1)
            return -1;
        ch->bm_eot = eot;
        for (unsigned u = 0; u < 2; u++)
            if (load_drive(&ch->drive[u], r, &armed[2 * i + u], &deadline[2 * i + u]))
                return -1;
    }
    for (unsigned i = 0; i < 4; i++)
        if (armed[i])
            vtimer_arm(&c->ch[i / 2].drive[i % 2].timer, deadline[i]);
    bar_check(c);
    for (unsigned i = 0; i < 2; i++) {
        /* Drive the line to the restored level whatever it was before. */
        struct ide_channel *ch = &c->ch[i];
        const struct ide_drive *d = sel_drive(ch);
        ch->irq_level = d->kind != IDE_NONE && d->intrq && !(ch->devctl & ATA_CTL_NIEN);
        irq_line_set(&ch->irq, ch->irq_level);
    }
    return 0;
}

static const struct device_ops ide_device_ops = {
    .name = "piix3-ide",
    .state_version = 1,
    .reset = ide_reset,
    .save = ide_save,
    .load = ide_load,
};

/* ---- construction ---- */

void ide_init(struct ide_ctrl *c, struct memmap *mem, struct vclock *clock)
{
    memset(c, 0, sizeof(*c));
    c->dev = (struct device){&ide_device_ops, c};
    c->mem = mem;
    c->clock = clock;
    c->latency_ns = IDE_DEFAULT_LATENCY_NS;
    for (unsigned i = 0; i < 2; i++) {
        struct ide_channel *ch = &c->ch[i];
        ch->ctrl = c;
        ch->index = i;
        for (unsigned u = 0; u < 2; u++) {
            struct ide_drive *d = &ch->drive[u];
            d->ch = ch;
            d->unit = u;
            d->ss = 512;
            vtimer_init(&d->timer, clock, timer_fire, d);
        }
    }
    ide_reset(c);
}

static struct ide_drive *slot(struct ide_ctrl *c, unsigned channel, unsigned unit)
{
    return channel < 2 && unit < 2 ? &c->ch[channel].drive[unit] : NULL;
}

static void auto_geometry(uint64_t total, uint16_t *cyls, uint16_t *heads, uint16_t *spt)
{
    uint64_t t = total < CHS_MAX_SECTORS ? total : CHS_MAX_SECTORS;
    uint64_t h = 16, s = 63;
    if (t < h * s) { /* images under one 16-head cylinder: fewer heads, then fewer sectors */
        s = t < 63 ? t : 63;
        h = t / s;
    }
    *spt = (uint16_t)s;
    *heads = (uint16_t)h;
    *cyls = (uint16_t)(t / (h * s));
}

static void set_strings(struct ide_drive *d, const char *model, const char *serial)
{
    snprintf(d->model, sizeof(d->model), "%s", model);
    snprintf(d->serial, sizeof(d->serial), "%s", serial);
    snprintf(d->fw, sizeof(d->fw), "%s", "1.0");
}

int ide_attach_disk(struct ide_ctrl *c, unsigned channel, unsigned unit, struct block_dev *img,
                    const struct ide_disk_opts *opts)
{
    struct ide_drive *d = slot(c, channel, unit);
    if (!d || !img || img->size / 512 == 0)
        return -EINVAL;
    if (d->kind != IDE_NONE)
        return -EBUSY;
    d->kind = IDE_DISK;
    d->img = img;
    d->ss = 512;
    d->sectors = img->size / 512; /* a partial last sector is not addressable */
    if (opts && opts->cyls && opts->heads && opts->spt && opts->heads <= 16 && opts->spt <= 255) {
        d->cyls = opts->cyls;
        d->heads = opts->heads;
        d->spt = opts->spt;
    } else {
        auto_geometry(d->sectors, &d->cyls, &d->heads, &d->spt);
    }
    char serial[21];
    snprintf(serial, sizeof(serial), "BT86HD%u%u", channel, unit);
    set_strings(d, opts && opts->model ? opts->model : "BT86 HARDDISK",
                opts && opts->serial ? opts->serial : serial);
    drive_power_on(d);
    update_irq(d->ch);
    return 0;
}

int ide_attach_cdrom(struct ide_ctrl *c, unsigned channel, unsigned unit, struct block_dev *medium)
{
    struct ide_drive *d = slot(c, channel, unit);
    if (!d)
        return -EINVAL;
    if (d->kind != IDE_NONE)
        return -EBUSY;
    d->kind = IDE_CDROM;
    d->ss = 2048;
    d->img = medium;
    d->sectors = 0;
    if (medium) {
        uint64_t n = medium->size / 2048;
        d->sectors = n < 0xFFFFFFFFu ? n : 0xFFFFFFFFu; /* READ CAPACITY has 32 bits */
    }
    d->cyls = d->heads = d->spt = 0;
    char serial[21];
    snprintf(serial, sizeof(serial), "BT86CD%u%u", channel, unit);
    set_strings(d, "BT86 DVD-ROM", serial);
    drive_power_on(d);
    update_irq(d->ch);
    return 0;
}

int ide_cdrom_change(struct ide_ctrl *c, unsigned channel, unsigned unit, struct block_dev *medium)
{
    struct ide_drive *d = slot(c, channel, unit);
    if (!d || d->kind != IDE_CDROM)
        return -EINVAL;
    atapi_media_change(d, medium);
    return 0;
}

bool ide_cdrom_locked(const struct ide_ctrl *c, unsigned channel, unsigned unit)
{
    return channel < 2 && unit < 2 && c->ch[channel].drive[unit].kind == IDE_CDROM &&
           c->ch[channel].drive[unit].locked;
}

int ide_register_ports(struct ide_ctrl *c, struct ioport_bus *bus)
{
    if (ioport_register(bus, 0x1F0, 8, &cmd_io_ops, &c->ch[0]) ||
        ioport_register(bus, 0x3F6, 1, &ctl_io_ops, &c->ch[0]) ||
        ioport_register(bus, 0x170, 8, &cmd_io_ops, &c->ch[1]) ||
        ioport_register(bus, 0x376, 1, &ctl_io_ops, &c->ch[1]))
        return -1;
    return 0;
}
