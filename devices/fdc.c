#include "devices/fdc.h"

#include <string.h>

/* Register offsets from the base port */
enum { REG_DOR = 2, REG_TDR = 3, REG_MSR = 4, REG_FIFO = 5, REG_DIR = 7 };

#define DOR_SEL 0x03
#define DOR_NRESET 0x04
#define DOR_DMA 0x08 /* AT mode: gates DRQ and INT onto the bus */

#define MSR_RQM 0x80
#define MSR_DIO 0x40 /* 1: controller to host */
#define MSR_NDMA 0x20
#define MSR_CB 0x10

#define ST0_IC_ABNORMAL 0x40
#define ST0_IC_INVALID 0x80
#define ST0_IC_READY 0xC0 /* "ready changed": the reset polling status */
#define ST0_SE 0x20
#define ST0_EC 0x10

#define ST1_EN 0x80
#define ST1_DE 0x20
#define ST1_OR 0x10
#define ST1_ND 0x04
#define ST1_NW 0x02
#define ST1_MA 0x01

#define ST2_DD 0x20

#define ST3_WP 0x40
#define ST3_RDY 0x20 /* READY is tied true inside the 82077AA */
#define ST3_T0 0x10
#define ST3_TS 0x08

#define CFG_EIS 0x40
#define CFG_EFIFO 0x20
#define CFG_POLL 0x10 /* set: polling disabled */

#define CMD_MT 0x80
#define CMD_MFM 0x40

/* Data rate codes (DSR/CCR bits 1-0) as accepted-rate bits. */
#define RATE_500K 0x01
#define RATE_300K 0x02
#define RATE_250K 0x04
#define RATE_1M 0x08

static const struct fdc_format formats[] = {
    {163840, 40, 1, 8, RATE_250K | RATE_300K, true, "160K"},
    {184320, 40, 1, 9, RATE_250K | RATE_300K, true, "180K"},
    {327680, 40, 2, 8, RATE_250K | RATE_300K, true, "320K"},
    {368640, 40, 2, 9, RATE_250K | RATE_300K, true, "360K"},
    {737280, 80, 2, 9, RATE_250K, false, "720K"},
    {1228800, 80, 2, 15, RATE_500K, true, "1.2M"},
    {1474560, 80, 2, 18, RATE_500K, false, "1.44M"},
    {2949120, 80, 2, 36, RATE_1M, false, "2.88M"},
};

enum cmd_id {
    C_READ, C_WRITE, C_READ_ID, C_FORMAT, C_RECALIBRATE, C_SENSE_INT, C_SPECIFY, C_SENSE_DRIVE,
    C_SEEK, C_RELATIVE_SEEK, C_CONFIGURE, C_VERSION, C_DUMPREG, C_PERPENDICULAR, C_LOCK,
};

/* Data commands in execution (struct fdc.op). */
enum { OP_NONE, OP_READ, OP_WRITE, OP_FORMAT, OP_READ_ID };

struct cmd_desc {
    uint8_t mask, value, len, id;
};

/* Opcode bits outside `mask` are the MT/MFM/SK/DIR/LOCK flags. */
static const struct cmd_desc commands[] = {
    {0x1F, 0x06, 9, C_READ},
    {0x3F, 0x05, 9, C_WRITE},
    {0xBF, 0x0A, 2, C_READ_ID},
    {0xBF, 0x0D, 6, C_FORMAT},
    {0xFF, 0x07, 2, C_RECALIBRATE},
    {0xFF, 0x08, 1, C_SENSE_INT},
    {0xFF, 0x03, 3, C_SPECIFY},
    {0xFF, 0x04, 2, C_SENSE_DRIVE},
    {0xFF, 0x0F, 3, C_SEEK},
    {0xBF, 0x8F, 3, C_RELATIVE_SEEK},
    {0xFF, 0x13, 4, C_CONFIGURE},
    {0xFF, 0x10, 1, C_VERSION},
    {0xFF, 0x0E, 1, C_DUMPREG},
    {0xFF, 0x12, 2, C_PERPENDICULAR},
    {0x7F, 0x14, 1, C_LOCK},
};

static const struct cmd_desc *decode(uint8_t opcode)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if ((opcode & commands[i].mask) == commands[i].value)
            return &commands[i];
    return NULL;
}

/* ---- geometry ---- */

const struct fdc_format *fdc_format_for_size(uint64_t size)
{
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (formats[i].size == size)
            return &formats[i];
    return NULL;
}

enum fdc_drive_type fdc_drive_type_for_format(const struct fdc_format *fmt)
{
    if (!fmt)
        return FDC_DRIVE_NONE;
    if (fmt->is_525)
        return fmt->cylinders == 40 ? FDC_DRIVE_360K : FDC_DRIVE_1_2M;
    switch (fmt->sectors) {
    case 9: return FDC_DRIVE_720K;
    case 18: return FDC_DRIVE_1_44M;
    default: return FDC_DRIVE_2_88M;
    }
}

/* Whether a drive takes a medium: same form factor, no higher density than its own. */
static bool drive_fits(enum fdc_drive_type type, const struct fdc_format *fmt)
{
    switch (type) {
    case FDC_DRIVE_360K: return fmt->is_525 && fmt->cylinders == 40;
    case FDC_DRIVE_1_2M: return fmt->is_525;
    case FDC_DRIVE_720K: return !fmt->is_525 && fmt->sectors == 9;
    case FDC_DRIVE_1_44M: return !fmt->is_525 && fmt->sectors <= 18;
    case FDC_DRIVE_2_88M: return !fmt->is_525;
    default: return false;
    }
}

/* The head stops a little past the last track a drive is made for. */
static uint8_t last_track(const struct fdc_drive *d)
{
    return d->type == FDC_DRIVE_360K ? 41 : 83;
}

static void move_head(struct fdc_drive *d, uint8_t cyl)
{
    uint8_t to = cyl > last_track(d) ? last_track(d) : cyl;
    /* Stepping with a disk in clears the disk-change line. */
    if (to != d->cyl && d->media)
        d->disk_changed = false;
    d->cyl = to;
    d->pcn = cyl;
}

/* ---- interrupts ---- */

static void update_irq(struct fdc *f)
{
    bool level = f->intr && (f->dor & DOR_DMA);
    if (level != f->irq_level) {
        f->irq_level = level;
        irq_line_set(&f->irq, level);
    }
}

static void set_intr(struct fdc *f, bool on)
{
    f->intr = on;
    update_irq(f);
}

/* ---- phases ---- */

static void to_command_phase(struct fdc *f)
{
    f->phase = FDC_PH_COMMAND;
    f->cmd_pos = 0;
    f->cmd_len = 0;
    f->res_len = f->res_pos = 0;
    f->buf_len = f->buf_pos = 0;
    f->op = OP_NONE;
}

static void to_result_phase(struct fdc *f, const uint8_t *res, unsigned len)
{
    memcpy(f->res, res, len);
    f->res_len = (uint8_t)len;
    f->res_pos = 0;
    f->buf_len = f->buf_pos = 0;
    f->phase = FDC_PH_RESULT;
}

/* End of a data command: the seven result bytes, then an interrupt. */
static void finish(struct fdc *f, uint8_t st0_ic, uint8_t st1, uint8_t st2)
{
    uint8_t st0 = (uint8_t)(st0_ic | f->st0_extra | f->hd << 2 | f->unit);
    uint8_t res[7] = {st0, st1, st2, f->c, f->h, f->r, f->n};
    f->op = OP_NONE;
    to_result_phase(f, res, 7);
    set_intr(f, true);
}

/* ---- resets ---- */

/* What DOR bit 2 low or DSR bit 7 does; LOCK keeps the FIFO parameters. */
static void soft_reset(struct fdc *f)
{
    vtimer_cancel(&f->exec_timer);
    for (unsigned i = 0; i < FDC_DRIVES; i++) {
        struct fdc_drive *d = &f->drive[i];
        vtimer_cancel(&d->seek_timer);
        d->seeking = false;
        /* The controller forgets the cylinders; drives are taken as recalibrated, as in QEMU. */
        d->pcn = 0;
        d->cyl = 0;
        d->next_id = 1;
    }
    to_command_phase(f);
    f->sense_pending = 0;
    f->st0_extra = 0;
    uint8_t keep = f->lock ? (f->config & (CFG_EFIFO | 0x0F)) : CFG_EFIFO;
    f->config = keep; /* EIS off, polling on */
    if (!f->lock)
        f->pretrk = 0;
    f->perpendicular &= 0x3C; /* GAP and WGATE clear; the drive bits stay */
    set_intr(f, false);
}

/* Leaving reset the chip polls the (always ready) drives: one "ready changed" status each. */
static void leave_reset(struct fdc *f)
{
    if (f->config & CFG_POLL)
        return;
    for (unsigned i = 0; i < FDC_DRIVES; i++)
        f->sense_st0[i] = (uint8_t)(ST0_IC_READY | i);
    f->sense_pending = 0x0F;
    set_intr(f, true);
}

static void fdc_reset(void *opaque)
{
    struct fdc *f = opaque;
    f->lock = false;
    f->specify[0] = f->specify[1] = 0;
    f->perpendicular = 0;
    f->pretrk = 0;
    f->tdr = 0;
    f->last_eot_sc = 0;
    f->dsr = 0x02; /* 250 kbps */
    soft_reset(f);
    /* Out of reset with DMA and IRQ enabled, as QEMU and Bochs start (SeaBIOS expects it). */
    f->dor = DOR_NRESET | DOR_DMA;
    update_irq(f);
}

/* ---- seeks ---- */

static void seek_done(void *opaque)
{
    struct fdc_drive *d = opaque;
    struct fdc *f = d->fdc;
    d->seeking = false;
    if (d->type == FDC_DRIVE_NONE) {
        d->pcn = d->seek_target; /* no drive answers: only the controller's count moves */
    } else {
        move_head(d, d->seek_target);
    }
    /* A new interrupt drops reset statuses nobody collected (QEMU does the same), so a
     * driver that sensed once after reset still gets its seek status next. */
    for (unsigned i = 0; i < FDC_DRIVES; i++)
        if ((f->sense_pending & (1u << i)) && (f->sense_st0[i] & 0xC0) == ST0_IC_READY)
            f->sense_pending &= (uint8_t)~(1u << i);
    f->sense_st0[d->unit] = d->seek_st0;
    f->sense_pending |= (uint8_t)(1u << d->unit);
    set_intr(f, true);
}

static void start_seek(struct fdc *f, unsigned unit, uint8_t target, uint8_t st0)
{
    struct fdc_drive *d = &f->drive[unit];
    d->seeking = true;
    d->seek_target = target;
    d->seek_st0 = st0;
    vtimer_arm(&d->seek_timer, vclock_now(f->clock) + FDC_SEEK_DELAY_NS);
}

/* ---- data transfers ---- */

static size_t dma_move(struct fdc *f, void *buf, size_t len, enum dma_dir dir, bool *tc)
{
    *tc = false;
    if (!f->dma || !(f->dor & DOR_DMA))
        return 0; /* DRQ never reaches the 8237: the FDC will see an overrun */
    return i8237_transfer(f->dma, f->dma_channel, buf, len, dir, tc);
}

static bool non_dma(const struct fdc *f) { return f->specify[1] & 1; }

/* ST1 bits if no ID can be found on this track at all (MA), else 0. */
static uint8_t track_error(const struct fdc *f, const struct fdc_drive *d, unsigned cyl,
                           unsigned head)
{
    const struct fdc_format *fmt = d->format;
    if (d->type == FDC_DRIVE_NONE || !d->media || !fmt)
        return ST1_MA;
    if (!(f->cmd[0] & CMD_MFM) || !(fmt->rates & (1u << (f->dsr & 3))))
        return ST1_MA; /* FM, or a data rate this medium was not written at */
    if (cyl >= fmt->cylinders || head >= fmt->heads)
        return ST1_MA;
    return 0;
}

/* Checks the sector the command points at (C, H, R, N). Returns ST1 error bits, or 0 and
 * its byte offset in the image. */
static uint8_t locate(struct fdc *f, const struct fdc_drive *d, uint64_t *offset)
{
    f->hd = f->h & 1;
    uint8_t err = track_error(f, d, f->c, f->h);
    if (err)
        return err;
    const struct fdc_format *fmt = d->format;
    if (f->n != 2 || f->r == 0 || f->r > fmt->sectors)
        return ST1_ND;
    *offset = (((uint64_t)f->c * fmt->heads + f->h) * fmt->sectors + (f->r - 1u)) * FDC_SECTOR_SIZE;
    return 0;
}

/* Moves C/H/R past the sector just transferred (datasheet table 5-6). Returns true when that
 * was the last sector of the cylinder the command may touch. */
static bool advance(struct fdc *f, const struct fdc_format *fmt)
{
    f->drive[f->unit].next_id = (uint8_t)(f->r % fmt->sectors + 1);
    if (f->r != f->eot && f->r < fmt->sectors) {
        f->r++;
        return false;
    }
    f->r = 1;
    if (f->cmd[0] & CMD_MT) {
        f->h ^= 1;
        if (f->h & 1) /* from side 0 on to side 1 of the same cylinder */
            return fmt->heads < 2;
    }
    f->c++;
    return true;
}

static void read_dma(struct fdc *f, struct fdc_drive *d)
{
    for (;;) {
        uint64_t off;
        uint8_t err = locate(f, d, &off);
        if (err) {
            finish(f, ST0_IC_ABNORMAL, err, 0);
            return;
        }
        if (block_pread(d->media, f->buf, FDC_SECTOR_SIZE, off)) {
            finish(f, ST0_IC_ABNORMAL, ST1_DE, ST2_DD);
            return;
        }
        bool tc;
        size_t got = dma_move(f, f->buf, FDC_SECTOR_SIZE, DMA_TO_MEMORY, &tc);
        if (got < FDC_SECTOR_SIZE && !tc) {
            finish(f, ST0_IC_ABNORMAL, ST1_OR, 0);
            return;
        }
        bool end = advance(f, d->format);
        if (tc) {
            finish(f, 0, 0, 0);
            return;
        }
        if (end) {
            finish(f, ST0_IC_ABNORMAL, ST1_EN, 0); /* EOT passed before TC */
            return;
        }
    }
}

/* Writes f->buf to the located sector; on failure ends the command and returns false. */
static bool write_sector(struct fdc *f, struct fdc_drive *d, uint64_t off)
{
    if (block_pwrite(d->media, f->buf, FDC_SECTOR_SIZE, off)) {
        /* The host could not store it: a drive fault, never a silent loss. */
        finish(f, ST0_IC_ABNORMAL | ST0_EC, 0, 0);
        return false;
    }
    return true;
}

static void write_dma(struct fdc *f, struct fdc_drive *d)
{
    for (;;) {
        uint64_t off;
        uint8_t err = locate(f, d, &off);
        if (err) {
            finish(f, ST0_IC_ABNORMAL, err, 0);
            return;
        }
        bool tc;
        size_t got = dma_move(f, f->buf, FDC_SECTOR_SIZE, DMA_FROM_MEMORY, &tc);
        if (got < FDC_SECTOR_SIZE && !tc) {
            finish(f, ST0_IC_ABNORMAL, ST1_OR, 0); /* underrun: the sector is not touched */
            return;
        }
        /* TC inside the sector: the rest of the data field is written as zeros. */
        memset(f->buf + got, 0, FDC_SECTOR_SIZE - got);
        if (!write_sector(f, d, off))
            return;
        bool end = advance(f, d->format);
        if (tc) {
            finish(f, 0, 0, 0);
            return;
        }
        if (end) {
            finish(f, ST0_IC_ABNORMAL, ST1_EN, 0);
            return;
        }
    }
}

/* Non-DMA: fetch the next sector for the host, or end the command on an error. */
static void pio_read_sector(struct fdc *f, struct fdc_drive *d)
{
    uint64_t off;
    uint8_t err = locate(f, d, &off);
    if (err) {
        finish(f, ST0_IC_ABNORMAL, err, 0);
        return;
    }
    if (block_pread(d->media, f->buf, FDC_SECTOR_SIZE, off)) {
        finish(f, ST0_IC_ABNORMAL, ST1_DE, ST2_DD);
        return;
    }
    f->phase = FDC_PH_PIO_OUT;
    f->buf_len = FDC_SECTOR_SIZE;
    f->buf_pos = 0;
    set_intr(f, true);
}

static void pio_write_sector(struct fdc *f, struct fdc_drive *d)
{
    uint64_t off;
    uint8_t err = locate(f, d, &off);
    if (err) {
        finish(f, ST0_IC_ABNORMAL, err, 0);
        return;
    }
    f->phase = FDC_PH_PIO_IN;
    f->buf_len = FDC_SECTOR_SIZE;
    f->buf_pos = 0;
    set_intr(f, true);
}

static void rw_begin(struct fdc *f)
{
    struct fdc_drive *d = &f->drive[f->unit];
    if (d->type != FDC_DRIVE_NONE && d->pcn != f->c) {
        move_head(d, f->c); /* implied seek */
        if (f->config & CFG_EIS)
            f->st0_extra = ST0_SE;
    }
    uint8_t err = track_error(f, d, f->c, f->h);
    if (!err && f->op == OP_WRITE && d->write_protect)
        err = ST1_NW;
    if (err) {
        finish(f, ST0_IC_ABNORMAL, err, 0);
        return;
    }
    if (non_dma(f)) {
        if (f->op == OP_READ)
            pio_read_sector(f, d);
        else
            pio_write_sector(f, d);
    } else if (f->op == OP_READ) {
        read_dma(f, d);
    } else {
        write_dma(f, d);
    }
}

static void read_id(struct fdc *f)
{
    struct fdc_drive *d = &f->drive[f->unit];
    f->c = d->cyl;
    f->n = 2;
    uint8_t err = track_error(f, d, d->cyl, f->h);
    if (err) {
        f->r = 0;
        finish(f, ST0_IC_ABNORMAL, err, 0);
        return;
    }
    uint8_t spt = d->format->sectors;
    f->r = (d->next_id >= 1 && d->next_id <= spt) ? d->next_id : 1;
    d->next_id = (uint8_t)(f->r % spt + 1);
    finish(f, 0, 0, 0);
}

/* FORMAT TRACK with its sector IDs in f->buf (4 bytes each, `count` of them). The raw image
 * holds only its own layout, so the IDs must describe exactly that; all are checked before
 * the first sector is filled. */
static void format_apply(struct fdc *f, unsigned count)
{
    struct fdc_drive *d = &f->drive[f->unit];
    const struct fdc_format *fmt = d->format;
    uint8_t cyl = d->cyl, head = f->h;
    uint64_t seen = 0;
    f->c = cyl;
    f->n = 2;
    if (count > FDC_MAX_SPT) { /* cannot happen: SC was checked against the format */
        finish(f, ST0_IC_ABNORMAL, ST1_ND, 0);
        return;
    }
    for (unsigned i = 0; i < count; i++) {
        const uint8_t *id = &f->buf[4 * i];
        if (id[0] != cyl || id[1] != head || id[2] == 0 || id[2] > fmt->sectors || id[3] != 2 ||
            (seen & (1ull << id[2]))) {
            finish(f, ST0_IC_ABNORMAL, ST1_ND, 0);
            return;
        }
        seen |= 1ull << id[2];
    }
    uint8_t ids[4 * FDC_MAX_SPT];
    memcpy(ids, f->buf, 4 * count);
    memset(f->buf, f->cmd[5], FDC_SECTOR_SIZE);
    for (unsigned i = 0; i < count; i++) {
        f->r = ids[4 * i + 2];
        uint64_t off = (((uint64_t)cyl * fmt->heads + head) * fmt->sectors + (f->r - 1u)) *
                       FDC_SECTOR_SIZE;
        if (!write_sector(f, d, off))
            return;
        memset(f->buf, f->cmd[5], FDC_SECTOR_SIZE);
    }
    finish(f, 0, 0, 0);
}

static void format_begin(struct fdc *f)
{
    struct fdc_drive *d = &f->drive[f->unit];
    uint8_t n = f->cmd[2], sc = f->cmd[3];
    f->c = d->cyl;
    f->r = 0;
    f->n = n;
    uint8_t err = track_error(f, d, d->cyl, f->h);
    if (!err && d->write_protect)
        err = ST1_NW;
    if (!err && (n != 2 || sc != d->format->sectors))
        err = ST1_ND; /* a layout the image cannot hold */
    if (err) {
        finish(f, ST0_IC_ABNORMAL, err, 0);
        return;
    }
    unsigned want = 4u * sc;
    if (non_dma(f)) {
        f->phase = FDC_PH_PIO_IN;
        f->buf_len = (uint16_t)want;
        f->buf_pos = 0;
        set_intr(f, true);
        return;
    }
    bool tc;
    size_t got = dma_move(f, f->buf, want, DMA_FROM_MEMORY, &tc);
    if (got < want && !tc) {
        finish(f, ST0_IC_ABNORMAL, ST1_OR, 0);
        return;
    }
    format_apply(f, (unsigned)(got / 4)); /* TC early: only the IDs that came */
}

static void exec_fire(void *opaque)
{
    struct fdc *f = opaque;
    if (f->phase != FDC_PH_EXEC)
        return;
    switch (f->op) {
    case OP_READ:
    case OP_WRITE: rw_begin(f); break;
    case OP_READ_ID: read_id(f); break;
    case OP_FORMAT: format_begin(f); break;
    default: to_command_phase(f); break;
    }
}

/* ---- non-DMA data phase through the FIFO ---- */

static uint8_t pio_read_byte(struct fdc *f)
{
    uint8_t v = f->buf[f->buf_pos++];
    set_intr(f, false);
    if (f->buf_pos < f->buf_len) {
        set_intr(f, true); /* an interrupt per byte, as with the FIFO disabled */
        return v;
    }
    struct fdc_drive *d = &f->drive[f->unit];
    if (!d->format) {
        finish(f, ST0_IC_ABNORMAL, ST1_MA, 0);
        return v;
    }
    /* No TC without DMA: the command runs to the end of the track. */
    if (advance(f, d->format))
        finish(f, ST0_IC_ABNORMAL, ST1_EN, 0);
    else
        pio_read_sector(f, d);
    return v;
}

static void pio_write_byte(struct fdc *f, uint8_t v)
{
    f->buf[f->buf_pos++] = v;
    set_intr(f, false);
    if (f->buf_pos < f->buf_len) {
        set_intr(f, true);
        return;
    }
    struct fdc_drive *d = &f->drive[f->unit];
    if (f->op == OP_FORMAT) {
        if (track_error(f, d, d->cyl, f->h))
            finish(f, ST0_IC_ABNORMAL, ST1_MA, 0);
        else
            format_apply(f, f->buf_len / 4u);
        return;
    }
    uint64_t off;
    uint8_t err = locate(f, d, &off); /* the disk may have left meanwhile */
    if (err) {
        finish(f, ST0_IC_ABNORMAL, err, 0);
        return;
    }
    if (!write_sector(f, d, off))
        return;
    if (advance(f, d->format))
        finish(f, ST0_IC_ABNORMAL, ST1_EN, 0);
    else
        pio_write_sector(f, d);
}

/* ---- commands ---- */

static void result1(struct fdc *f, uint8_t v) { to_result_phase(f, &v, 1); }

static void start_data_command(struct fdc *f, uint8_t op)
{
    f->op = op;
    f->unit = f->cmd[1] & 3;
    f->st0_extra = 0;
    if (op == OP_READ || op == OP_WRITE) {
        f->c = f->cmd[2];
        f->h = f->cmd[3];
        f->r = f->cmd[4];
        f->n = f->cmd[5];
        f->eot = f->cmd[6];
        f->last_eot_sc = f->eot;
        f->hd = f->h & 1;
    } else {
        f->h = (f->cmd[1] >> 2) & 1;
        f->hd = f->h;
        if (op == OP_FORMAT)
            f->last_eot_sc = f->cmd[3];
    }
    f->phase = FDC_PH_EXEC;
    vtimer_arm(&f->exec_timer, vclock_now(f->clock) + FDC_EXEC_DELAY_NS);
}

static void execute(struct fdc *f, const struct cmd_desc *cd)
{
    const uint8_t *cmd = f->cmd;
    unsigned unit = cmd[1] & 3, head = (cmd[1] >> 2) & 1;
    struct fdc_drive *d = &f->drive[unit];
    f->cmd_pos = 0;
    switch (cd->id) {
    case C_READ: start_data_command(f, OP_READ); return;
    case C_WRITE: start_data_command(f, OP_WRITE); return;
    case C_READ_ID: start_data_command(f, OP_READ_ID); return;
    case C_FORMAT: start_data_command(f, OP_FORMAT); return;
    case C_RECALIBRATE: {
        /* With no drive, TRK0 never comes: abnormal end with equipment check. */
        uint8_t st0 = (uint8_t)(ST0_SE | unit);
        if (d->type == FDC_DRIVE_NONE)
            st0 |= ST0_IC_ABNORMAL | ST0_EC;
        start_seek(f, unit, 0, st0);
        to_command_phase(f);
        return;
    }
    case C_SEEK:
        start_seek(f, unit, cmd[2], (uint8_t)(ST0_SE | head << 2 | unit));
        to_command_phase(f);
        return;
    case C_RELATIVE_SEEK: {
        int target = (cmd[0] & 0x40) ? d->pcn + cmd[2] : d->pcn - cmd[2];
        target = target < 0 ? 0 : target > 255 ? 255 : target;
        start_seek(f, unit, (uint8_t)target, (uint8_t)(ST0_SE | head << 2 | unit));
        to_command_phase(f);
        return;
    }
    case C_SENSE_INT: {
        set_intr(f, false);
        if (!f->sense_pending) {
            result1(f, ST0_IC_INVALID);
            return;
        }
        unsigned i = 0;
        while (!(f->sense_pending & (1u << i)))
            i++;
        f->sense_pending &= (uint8_t)~(1u << i);
        uint8_t res[2] = {f->sense_st0[i], f->drive[i].pcn};
        to_result_phase(f, res, 2);
        return;
    }
    case C_SENSE_DRIVE: {
        uint8_t st3 = (uint8_t)(ST3_RDY | ST3_TS | head << 2 | unit);
        if (d->media && d->write_protect)
            st3 |= ST3_WP;
        if (d->type != FDC_DRIVE_NONE && d->cyl == 0)
            st3 |= ST3_T0;
        result1(f, st3);
        return;
    }
    case C_SPECIFY:
        f->specify[0] = cmd[1];
        f->specify[1] = cmd[2];
        to_command_phase(f);
        return;
    case C_CONFIGURE:
        f->config = cmd[2] & 0x7F;
        f->pretrk = cmd[3];
        to_command_phase(f);
        return;
    case C_VERSION: result1(f, 0x90); return; /* 82077AA (an 8272A says 0x80: invalid) */
    case C_DUMPREG: {
        uint8_t res[10] = {f->drive[0].pcn, f->drive[1].pcn, f->drive[2].pcn, f->drive[3].pcn,
                           f->specify[0], f->specify[1], f->last_eot_sc,
                           (uint8_t)(f->lock << 7 | (f->perpendicular & 0x3F)), f->config,
                           f->pretrk};
        to_result_phase(f, res, 10);
        return;
    }
    case C_PERPENDICULAR:
        if (cmd[1] & 0x80) /* OW: the drive bits are taken only with it */
            f->perpendicular = cmd[1] & 0x3F;
        else
            f->perpendicular = (uint8_t)((f->perpendicular & 0x3C) | (cmd[1] & 0x03));
        to_command_phase(f);
        return;
    case C_LOCK:
        f->lock = cmd[0] & 0x80;
        result1(f, (uint8_t)(f->lock << 4));
        return;
    }
}

static void fifo_write(struct fdc *f, uint8_t v)
{
    if (f->phase == FDC_PH_PIO_IN) {
        pio_write_byte(f, v);
        return;
    }
    if (f->phase != FDC_PH_COMMAND)
        return; /* RQM or DIO says not now: the byte is lost */
    if (f->cmd_pos == 0) {
        const struct cmd_desc *cd = decode(v);
        if (!cd) {
            result1(f, ST0_IC_INVALID);
            return;
        }
        f->cmd_len = cd->len;
    }
    f->cmd[f->cmd_pos++] = v;
    if (f->cmd_pos == f->cmd_len)
        execute(f, decode(f->cmd[0]));
}

static uint8_t fifo_read(struct fdc *f)
{
    if (f->phase == FDC_PH_PIO_OUT)
        return pio_read_byte(f);
    if (f->phase != FDC_PH_RESULT)
        return 0xFF;
    uint8_t v = f->res[f->res_pos++];
    if (f->res_pos == 1)
        set_intr(f, false); /* the first result byte acknowledges the interrupt */
    if (f->res_pos >= f->res_len)
        to_command_phase(f);
    return v;
}

static uint8_t read_msr(const struct fdc *f)
{
    if (!(f->dor & DOR_NRESET))
        return 0;
    uint8_t v = 0;
    for (unsigned i = 0; i < FDC_DRIVES; i++)
        if (f->drive[i].seeking)
            v |= (uint8_t)(1u << i);
    switch (f->phase) {
    case FDC_PH_COMMAND: v |= MSR_RQM | (f->cmd_pos ? MSR_CB : 0); break;
    case FDC_PH_EXEC: v |= MSR_CB; break;
    case FDC_PH_PIO_OUT: v |= MSR_RQM | MSR_DIO | MSR_NDMA | MSR_CB; break;
    case FDC_PH_PIO_IN: v |= MSR_RQM | MSR_NDMA | MSR_CB; break;
    case FDC_PH_RESULT: v |= MSR_RQM | MSR_DIO | MSR_CB; break;
    }
    return v;
}

static void write_dor(struct fdc *f, uint8_t v)
{
    uint8_t old = f->dor;
    f->dor = v;
    if ((old & DOR_NRESET) && !(v & DOR_NRESET))
        soft_reset(f);
    else if (!(old & DOR_NRESET) && (v & DOR_NRESET))
        leave_reset(f);
    update_irq(f);
}

static uint8_t reg_read(struct fdc *f, unsigned reg)
{
    switch (reg) {
    case REG_DOR: return f->dor;
    case REG_TDR: return f->tdr;
    case REG_MSR: return read_msr(f);
    case REG_FIFO: return (f->dor & DOR_NRESET) ? fifo_read(f) : 0xFF;
    case REG_DIR: {
        /* Only bit 7 is driven in AT mode; an empty connector never signals a change. */
        const struct fdc_drive *d = &f->drive[f->dor & DOR_SEL];
        return (d->type != FDC_DRIVE_NONE && d->disk_changed) ? 0x80 : 0x00;
    }
    default: return 0xFF;
    }
}

static void reg_write(struct fdc *f, unsigned reg, uint8_t v)
{
    switch (reg) {
    case REG_DOR: write_dor(f, v); break;
    case REG_TDR: f->tdr = v & 0x03; break;
    case REG_MSR: /* DSR */
        f->dsr = v & 0x1F; /* rate and precompensation; power-down is not modelled */
        if ((v & 0x80) && (f->dor & DOR_NRESET)) {
            soft_reset(f); /* self-clearing software reset */
            leave_reset(f);
        }
        break;
    case REG_FIFO:
        if (f->dor & DOR_NRESET)
            fifo_write(f, v);
        break;
    case REG_DIR: /* CCR */ f->dsr = (uint8_t)((f->dsr & ~3) | (v & 3)); break;
    }
}

static bool our_reg(unsigned reg) { return (reg >= REG_DOR && reg <= REG_FIFO) || reg == REG_DIR; }

static uint32_t fdc_io_read(void *opaque, uint16_t port, unsigned size)
{
    struct fdc *f = opaque;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        unsigned reg = (unsigned)(port + i - f->base);
        uint8_t b = reg < 8 && our_reg(reg) ? reg_read(f, reg) : 0xFF;
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

static void fdc_io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    struct fdc *f = opaque;
    for (unsigned i = 0; i < size; i++) {
        unsigned reg = (unsigned)(port + i - f->base);
        if (reg < 8 && our_reg(reg))
            reg_write(f, reg, (uint8_t)(value >> (8 * i)));
    }
}

static const struct ioport_ops fdc_io_ops = {fdc_io_read, fdc_io_write};

/* ---- media ---- */

int fdc_connect_drive(struct fdc *f, unsigned unit, enum fdc_drive_type type)
{
    if (unit >= FDC_DRIVES || (unsigned)type > FDC_DRIVE_2_88M)
        return FDC_ERR_NO_DRIVE;
    struct fdc_drive *d = &f->drive[unit];
    if (type == FDC_DRIVE_NONE || (d->format && !drive_fits(type, d->format)))
        fdc_eject(f, unit);
    d->type = type;
    if (d->cyl > last_track(d))
        d->cyl = last_track(d);
    return 0;
}

int fdc_insert(struct fdc *f, unsigned unit, struct block_dev *media, bool write_protect)
{
    if (unit >= FDC_DRIVES || f->drive[unit].type == FDC_DRIVE_NONE)
        return FDC_ERR_NO_DRIVE;
    const struct fdc_format *fmt = fdc_format_for_size(block_size(media));
    if (!fmt)
        return FDC_ERR_BAD_SIZE;
    struct fdc_drive *d = &f->drive[unit];
    if (!drive_fits(d->type, fmt))
        return FDC_ERR_NO_FIT;
    d->media = media;
    d->format = fmt;
    d->write_protect = write_protect || block_is_read_only(media);
    d->disk_changed = true;
    return 0;
}

void fdc_eject(struct fdc *f, unsigned unit)
{
    if (unit >= FDC_DRIVES)
        return;
    struct fdc_drive *d = &f->drive[unit];
    d->media = NULL;
    d->format = NULL;
    d->write_protect = false;
    if (d->type != FDC_DRIVE_NONE)
        d->disk_changed = true;
}

const char *fdc_strerror(int err)
{
    switch (err) {
    case 0: return "no error";
    case FDC_ERR_NO_DRIVE: return "no such floppy drive";
    case FDC_ERR_BAD_SIZE:
        return "image size matches no floppy format (160K, 180K, 320K, 360K, 720K, 1.2M, "
               "1.44M or 2.88M, in bytes: 163840, 184320, 327680, 368640, 737280, 1228800, "
               "1474560, 2949120)";
    case FDC_ERR_NO_FIT: return "this floppy format does not fit the drive type";
    default: return "unknown floppy error";
    }
}

/* ---- save/load ---- */

static void save_timer(struct state_writer *w, const struct vtimer *t)
{
    sw_u8(w, t->armed);
    sw_u64(w, t->armed ? t->deadline : 0);
}

static void fdc_save(const void *opaque, struct state_writer *w)
{
    const struct fdc *f = opaque;
    sw_u8(w, f->dor);
    sw_u8(w, f->tdr);
    sw_u8(w, f->dsr);
    sw_u8(w, f->phase);
    sw_bytes(w, f->cmd, sizeof(f->cmd));
    sw_u8(w, f->cmd_len);
    sw_u8(w, f->cmd_pos);
    sw_bytes(w, f->res, sizeof(f->res));
    sw_u8(w, f->res_len);
    sw_u8(w, f->res_pos);
    sw_bytes(w, f->buf, sizeof(f->buf));
    sw_u16(w, f->buf_len);
    sw_u16(w, f->buf_pos);
    sw_u8(w, f->op);
    sw_u8(w, f->unit);
    sw_u8(w, f->c);
    sw_u8(w, f->h);
    sw_u8(w, f->r);
    sw_u8(w, f->n);
    sw_u8(w, f->eot);
    sw_u8(w, f->st0_extra);
    sw_u8(w, f->hd);
    sw_bytes(w, f->specify, sizeof(f->specify));
    sw_u8(w, f->config);
    sw_u8(w, f->pretrk);
    sw_u8(w, f->perpendicular);
    sw_u8(w, f->lock);
    sw_u8(w, f->last_eot_sc);
    sw_u8(w, f->intr);
    sw_u8(w, f->sense_pending);
    sw_bytes(w, f->sense_st0, sizeof(f->sense_st0));
    save_timer(w, &f->exec_timer);
    for (unsigned i = 0; i < FDC_DRIVES; i++) {
        const struct fdc_drive *d = &f->drive[i];
        sw_u8(w, d->pcn);
        sw_u8(w, d->cyl);
        sw_u8(w, d->next_id);
        sw_u8(w, d->disk_changed);
        sw_u8(w, d->seeking);
        sw_u8(w, d->seek_target);
        sw_u8(w, d->seek_st0);
        save_timer(w, &d->seek_timer);
    }
}

static int fdc_load(void *opaque, struct state_reader *r, uint16_t version)
{
    struct fdc *f = opaque;
    if (version != 1)
        return -1;
    /* Read into a copy; only a fully checked state replaces the live one. */
    struct fdc s;
    memcpy(&s, f, sizeof(s));
    s.dor = sr_u8(r);
    s.tdr = sr_u8(r);
    s.dsr = sr_u8(r);
    s.phase = sr_u8(r);
    sr_bytes(r, s.cmd, sizeof(s.cmd));
    s.cmd_len = sr_u8(r);
    s.cmd_pos = sr_u8(r);
    sr_bytes(r, s.res, sizeof(s.res));
    s.res_len = sr_u8(r);
    s.res_pos = sr_u8(r);
    sr_bytes(r, s.buf, sizeof(s.buf));
    s.buf_len = sr_u16(r);
    s.buf_pos = sr_u16(r);
    s.op = sr_u8(r);
    s.unit = sr_u8(r);
    s.c = sr_u8(r);
    s.h = sr_u8(r);
    s.r = sr_u8(r);
    s.n = sr_u8(r);
    s.eot = sr_u8(r);
    s.st0_extra = sr_u8(r);
    s.hd = sr_u8(r);
    sr_bytes(r, s.specify, sizeof(s.specify));
    s.config = sr_u8(r);
    s.pretrk = sr_u8(r);
    s.perpendicular = sr_u8(r);
    uint8_t lock = sr_u8(r);
    s.last_eot_sc = sr_u8(r);
    uint8_t intr = sr_u8(r);
    s.sense_pending = sr_u8(r);
    sr_bytes(r, s.sense_st0, sizeof(s.sense_st0));
    uint8_t exec_armed = sr_u8(r);
    uint64_t exec_deadline = sr_u64(r);
    uint8_t flags[FDC_DRIVES][2], seek_armed[FDC_DRIVES];
    uint64_t seek_deadline[FDC_DRIVES];
    for (unsigned i = 0; i < FDC_DRIVES; i++) {
        struct fdc_drive *d = &s.drive[i];
        d->pcn = sr_u8(r);
        d->cyl = sr_u8(r);
        d->next_id = sr_u8(r);
        flags[i][0] = sr_u8(r);
        flags[i][1] = sr_u8(r);
        d->seek_target = sr_u8(r);
        d->seek_st0 = sr_u8(r);
        seek_armed[i] = sr_u8(r);
        seek_deadline[i] = sr_u64(r);
    }
    if (r->error || s.phase > FDC_PH_RESULT || s.cmd_len > sizeof(s.cmd) ||
        s.cmd_pos > s.cmd_len || s.res_len > sizeof(s.res) || s.res_pos > s.res_len ||
        s.buf_len > sizeof(s.buf) || s.buf_pos > s.buf_len || s.op > OP_READ_ID ||
        s.unit >= FDC_DRIVES || s.sense_pending > 0x0F || s.config > 0x7F ||
        s.perpendicular > 0x3F || s.tdr > 3 || s.hd > 1 || (s.st0_extra & ~ST0_SE) ||
        s.dsr > 0x1F || lock > 1 || intr > 1 || exec_armed > 1)
        return -1;
    /* Every phase's bookkeeping must be one the code itself can produce. */
    const struct cmd_desc *cd = s.cmd_pos ? decode(s.cmd[0]) : NULL;
    if (s.cmd_pos && (s.phase != FDC_PH_COMMAND || !cd || cd->len != s.cmd_len ||
                      s.cmd_pos >= s.cmd_len))
        return -1;
    if ((s.phase == FDC_PH_RESULT) != (s.res_len > 0) ||
        (s.phase == FDC_PH_RESULT && s.res_pos >= s.res_len))
        return -1;
    bool pio = s.phase == FDC_PH_PIO_IN || s.phase == FDC_PH_PIO_OUT;
    if (pio != (s.buf_len > 0) || (pio && s.buf_pos >= s.buf_len))
        return -1;
    if ((s.phase == FDC_PH_EXEC || pio) != (s.op != OP_NONE) ||
        (s.phase == FDC_PH_EXEC) != exec_armed)
        return -1;
    if (pio && (s.op == OP_READ_ID || s.op == OP_NONE))
        return -1;
    if (pio && s.op == OP_FORMAT &&
        (s.phase != FDC_PH_PIO_IN || s.buf_len % 4 || s.buf_len > 4 * FDC_MAX_SPT))
        return -1;
    if (pio && s.op != OP_FORMAT && s.buf_len != FDC_SECTOR_SIZE)
        return -1;
    for (unsigned i = 0; i < FDC_DRIVES; i++)
        if (flags[i][0] > 1 || flags[i][1] > 1 || flags[i][1] != seek_armed[i] ||
            s.drive[i].cyl > last_track(&s.drive[i]))
            return -1;

    /* The copy's timers are stale images of the live ones: keep the live (cancelled) ones. */
    for (unsigned i = 0; i < FDC_DRIVES; i++) {
        vtimer_cancel(&f->drive[i].seek_timer);
        s.drive[i].seek_timer = f->drive[i].seek_timer;
    }
    vtimer_cancel(&f->exec_timer);
    s.exec_timer = f->exec_timer;
    s.lock = lock;
    s.intr = intr;
    memcpy(f, &s, sizeof(*f));
    for (unsigned i = 0; i < FDC_DRIVES; i++) {
        struct fdc_drive *d = &f->drive[i];
        d->disk_changed = flags[i][0];
        d->seeking = flags[i][1];
        if (seek_armed[i])
            vtimer_arm(&d->seek_timer, seek_deadline[i]);
    }
    if (exec_armed)
        vtimer_arm(&f->exec_timer, exec_deadline);
    update_irq(f);
    return 0;
}

static const struct device_ops fdc_device_ops = {
    .name = "fdc",
    .state_version = 1,
    .reset = fdc_reset,
    .save = fdc_save,
    .load = fdc_load,
};

int fdc_attach(struct fdc *f, struct ioport_bus *bus, uint16_t base, struct vclock *clock,
               struct i8237 *dma, unsigned dma_channel)
{
    memset(f, 0, sizeof(*f));
    f->dev = (struct device){&fdc_device_ops, f};
    f->clock = clock;
    f->dma = dma;
    f->dma_channel = dma_channel;
    f->base = base;
    vtimer_init(&f->exec_timer, clock, exec_fire, f);
    for (unsigned i = 0; i < FDC_DRIVES; i++) {
        f->drive[i].fdc = f;
        f->drive[i].unit = (uint8_t)i;
        vtimer_init(&f->drive[i].seek_timer, clock, seek_done, &f->drive[i]);
    }
    fdc_reset(f);
    if (ioport_register(bus, (uint16_t)(base + REG_DOR), 4, &fdc_io_ops, f) ||
        ioport_register(bus, (uint16_t)(base + REG_DIR), 1, &fdc_io_ops, f))
        return -1;
    return 0;
}
