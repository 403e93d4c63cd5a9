/* An Intel 82077AA floppy disk controller in PC-AT mode, as the PC uses it at 0x3F0-0x3F7
 * with IRQ 6 and DMA channel 2, and up to four drives holding raw images (devices/block.h).
 *
 * Ports (from `base`, normally 0x3F0): +2 DOR, +3 TDR, +4 MSR (read) / DSR (write), +5 FIFO,
 * +7 DIR (read) / CCR (write). +0/+1 (PS/2 status registers) are not decoded in AT mode, and
 * +6 belongs to the IDE controller, so neither is claimed.
 *
 * Commands: READ DATA, WRITE DATA, READ ID, FORMAT TRACK, RECALIBRATE, SEEK, RELATIVE SEEK,
 * SENSE INTERRUPT STATUS, SENSE DRIVE STATUS, SPECIFY, CONFIGURE, VERSION, DUMPREG, LOCK,
 * PERPENDICULAR MODE (recorded, no effect). Anything else is invalid (result 0x80), which is
 * also how an 82077AA answers PART ID, so drivers identify it as one.
 *
 * Data moves by DMA (the default) or, after SPECIFY with ND set, through the FIFO with an
 * interrupt per byte. Commands run after a short virtual-time delay (vtimers), so the busy
 * phase is visible; seeks take a delay too. DOR bit 3 gates both IRQ and DRQ, as in AT mode.
 *
 * Deliberate leniencies, matching QEMU and Bochs (SeaBIOS relies on the first):
 *  - READ/WRITE DATA seek implicitly to the command's C (ST0 SE is reported only with EIS).
 *  - The command's H selects the head; the HDS bit is ignored for READ/WRITE DATA.
 *  - A track ends at EOT or at the medium's last sector, whichever comes first.
 *  - The motor bits are not required to be on.
 *  - A reset leaves every drive at cylinder 0, and a seek's interrupt drops "ready changed"
 *    statuses left from a reset (a driver that sensed only once still gets its seek status).
 * ST0's head bit is the head of the last sector touched. Read and write errors of the host
 * file reach the guest: a failed read as a CRC error (ST1 DE, ST2 DD), a failed write as an
 * equipment check (ST0 EC). A DMA channel that does not serve the FDC gives an overrun
 * (ST1 OR) and a write underrun leaves the sector untouched.
 * What the medium cannot hold is an error, never silently dropped data: a FORMAT whose IDs
 * do not describe the image's own layout fails before anything is written. */
#ifndef BT86_FDC_H
#define BT86_FDC_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/block.h"
#include "devices/clock.h"
#include "devices/device.h"
#include "devices/i8237.h"
#include "devices/ioport.h"

#define FDC_DRIVES 4
#define FDC_SECTOR_SIZE 512
#define FDC_MAX_SPT 36 /* sectors per track of the densest format (2.88M) */
#define FDC_DEFAULT_BASE 0x3F0
#define FDC_DEFAULT_IRQ 6
#define FDC_DEFAULT_DMA 2

/* Virtual time from the last byte of a command to its execution. */
#define FDC_EXEC_DELAY_NS 20000ull
#define FDC_SEEK_DELAY_NS 50000ull

/* Drive types; the values are the CMOS (register 0x10) nibbles. */
enum fdc_drive_type {
    FDC_DRIVE_NONE = 0,
    FDC_DRIVE_360K = 1,  /* 5.25" double density, 40 tracks */
    FDC_DRIVE_1_2M = 2,  /* 5.25" high density, 80 tracks */
    FDC_DRIVE_720K = 3,  /* 3.5" double density */
    FDC_DRIVE_1_44M = 4, /* 3.5" high density */
    FDC_DRIVE_2_88M = 5, /* 3.5" extra density */
};

/* Media formats the controller knows by image size (512-byte sectors). */
struct fdc_format {
    uint32_t size;
    uint8_t cylinders, heads, sectors;
    uint8_t rates;    /* accepted data rates: bit n for DSR code n (0 500K, 1 300K, 2 250K, 3 1M) */
    bool is_525;      /* 5.25" medium */
    const char *name;
};

/* Errors from fdc_insert (negative errno values), described by fdc_strerror(). */
#define FDC_ERR_NO_DRIVE (-ENODEV)   /* unit out of range or no drive connected */
#define FDC_ERR_BAD_SIZE (-EINVAL)   /* the size matches no floppy format */
#define FDC_ERR_NO_FIT (-EMEDIUMTYPE) /* a format this drive cannot take */

struct fdc;

struct fdc_drive {
    struct fdc *fdc; /* back pointer for the seek timer */
    uint8_t unit;
    enum fdc_drive_type type;
    /* host side: the inserted image (owned by the caller) */
    struct block_dev *media;
    const struct fdc_format *format;
    bool write_protect;
    /* guest-visible state */
    uint8_t pcn;        /* the controller's present cylinder number */
    uint8_t cyl;        /* where the head really is (stops at the drive's last track) */
    uint8_t next_id;    /* sector ID next under the head, for READ ID */
    bool disk_changed;  /* DIR bit 7: set on eject/insert, cleared by a step with a disk in */
    bool seeking;
    uint8_t seek_target;
    uint8_t seek_st0;   /* ST0 reported once the seek ends */
    struct vtimer seek_timer;
};

enum fdc_phase {
    FDC_PH_COMMAND,
    FDC_PH_EXEC,     /* busy: waiting for the execution timer */
    FDC_PH_PIO_OUT,  /* non-DMA execution, data to the host */
    FDC_PH_PIO_IN,   /* non-DMA execution, data from the host */
    FDC_PH_RESULT,
};

struct fdc {
    struct device dev;
    struct irq_line irq;     /* IRQ 6; the machine wires it */
    struct vclock *clock;
    struct i8237 *dma;       /* NULL: no DMA (transfers overrun) */
    unsigned dma_channel;
    uint16_t base;

    struct fdc_drive drive[FDC_DRIVES];
    struct vtimer exec_timer;

    /* registers */
    uint8_t dor, tdr;
    uint8_t dsr;             /* data rate (bits 1-0) and precompensation (4-2) */
    /* command/result machinery */
    uint8_t phase;
    uint8_t cmd[9], cmd_len, cmd_pos;
    uint8_t res[10], res_len, res_pos;
    uint8_t buf[FDC_SECTOR_SIZE];
    uint16_t buf_len, buf_pos; /* non-DMA data phase */
    /* the data command being executed */
    uint8_t op;              /* internal command id */
    uint8_t unit, c, h, r, n, eot;
    uint8_t st0_extra;       /* SE from an implied seek */
    uint8_t hd;              /* head of the last sector touched: ST0 bit 2 */
    /* parameters */
    uint8_t specify[2];      /* SRT/HUT, HLT/ND */
    uint8_t config;          /* EIS, EFIFO, POLL, FIFOTHR as in CONFIGURE's second byte */
    uint8_t pretrk;
    uint8_t perpendicular;   /* D3-D0 (bits 5-2), GAP, WGATE */
    bool lock;
    uint8_t last_eot_sc;     /* DUMPREG byte 7 */
    /* interrupts */
    bool intr;               /* the chip's INT output (before the DOR gate) */
    bool irq_level;          /* level last driven on `irq` */
    uint8_t sense_pending;   /* drives with a status for SENSE INTERRUPT STATUS */
    uint8_t sense_st0[FDC_DRIVES];
};

/* Registers the ports at base+2..+5 and base+7, with no drives connected. `dma` may be NULL.
 * Returns 0 or -1 (a port is taken). Wire f->irq afterwards. */
int fdc_attach(struct fdc *f, struct ioport_bus *bus, uint16_t base, struct vclock *clock,
               struct i8237 *dma, unsigned dma_channel);

/* Connects (or with FDC_DRIVE_NONE disconnects) a drive; a medium the new type cannot take
 * is ejected. Returns 0, or FDC_ERR_NO_DRIVE for a bad unit or type. Set the CMOS drive
 * types (register 0x10: unit 0 in the high nibble) from the same enum values. */
int fdc_connect_drive(struct fdc *f, unsigned unit, enum fdc_drive_type type);

/* The format an image of `size` bytes holds, or NULL. */
const struct fdc_format *fdc_format_for_size(uint64_t size);
/* The drive that naturally takes a format (1.2M for 5.25" media up to 360K would also do). */
enum fdc_drive_type fdc_drive_type_for_format(const struct fdc_format *fmt);

/* Inserts an image (the caller keeps ownership and must eject before closing it). Write-
 * protected if `write_protect` or the image is read-only. Sets the disk-change line.
 * Returns 0, FDC_ERR_NO_DRIVE, FDC_ERR_BAD_SIZE or FDC_ERR_NO_FIT. */
int fdc_insert(struct fdc *f, unsigned unit, struct block_dev *media, bool write_protect);
/* Removes the medium (if any) and sets the disk-change line. */
void fdc_eject(struct fdc *f, unsigned unit);

/* A sentence for an fdc_insert error. */
const char *fdc_strerror(int err);

#endif
