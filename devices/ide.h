/* The PIIX3 IDE function (PCI 8086:7010, devfn 0x09): two legacy-mode channels, each with a
 * master and a slave that are ATA hard disks (raw images) or ATAPI CD/DVD-ROM drives (ISO
 * images), and the bus master DMA engine of SFF-8038i behind BAR4.
 *
 * Ports: 0x1F0-0x1F7 + 0x3F6 (primary, IRQ14), 0x170-0x177 + 0x376 (secondary, IRQ15); 0x3F7
 * and 0x377 stay the floppy controller's. Register writes reach both devices of a channel,
 * reads come from the selected one. With a clock and a nonzero latency, each command and each
 * PIO block keeps BSY set for `latency_ns` of virtual time before DRQ or completion shows;
 * without a clock everything completes inside the port access.
 *
 * DMA moves data only through memmap_copy_to/from. A PRD region and the PRD table are walked
 * with a 16-bit address incrementer as on the PIIX (they wrap inside their 64 KiB page);
 * the Read/Write Control bit is not checked against the command's direction (as QEMU). */
#ifndef BT86_IDE_H
#define BT86_IDE_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/clock.h"
#include "devices/device.h"
#include "devices/block.h"
#include "devices/ioport.h"
#include "devices/pci.h"
#include "mmu/memmap.h"

#define IDE_PCI_DEVFN 0x09
#define IDE_BUF_SIZE (64 * 1024) /* a drive's data buffer: a DRQ block or a DMA chunk */
#define IDE_MAX_MULT 16          /* READ/WRITE MULTIPLE block limit (IDENTIFY word 47) */
#define IDE_DEFAULT_LATENCY_NS 2000

/* Task file status bits */
#define ATA_ST_ERR 0x01
#define ATA_ST_DRQ 0x08
#define ATA_ST_DSC 0x10
#define ATA_ST_DF 0x20
#define ATA_ST_DRDY 0x40
#define ATA_ST_BSY 0x80

/* Error register bits */
#define ATA_ERR_AMNF 0x01
#define ATA_ERR_ABRT 0x04
#define ATA_ERR_IDNF 0x10
#define ATA_ERR_UNC 0x40

/* Device control register */
#define ATA_CTL_NIEN 0x02
#define ATA_CTL_SRST 0x04
#define ATA_CTL_HOB 0x80

/* ATAPI interrupt reason (in the sector count register) */
#define ATAPI_IR_COD 0x01
#define ATAPI_IR_IO 0x02

/* Bus master registers (offsets in BAR4; the secondary channel adds 8) */
#define BM_CMD 0
#define BM_STATUS 2
#define BM_PRD 4
#define BM_CMD_START 0x01
#define BM_CMD_WRITE 0x08 /* bus master writes memory (device reads) */
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERROR 0x02
#define BM_ST_INT 0x04
#define BM_ST_DMA0 0x20
#define BM_ST_DMA1 0x40

enum ide_kind { IDE_NONE, IDE_DISK, IDE_CDROM };

/* What the data port or the DMA engine is moving for a drive. */
enum ide_xfer {
    IDE_XFER_NONE,
    IDE_XFER_PIO_IN,   /* ATA data-in (sectors, IDENTIFY) through the data port */
    IDE_XFER_PIO_OUT,  /* ATA data-out through the data port */
    IDE_XFER_PACKET,   /* receiving the 12-byte ATAPI command packet */
    IDE_XFER_ATAPI_IN, /* ATAPI data-in through the data port, byte count per DRQ */
    IDE_XFER_DMA_IN,   /* device -> memory (READ DMA, ATAPI with the DMA feature) */
    IDE_XFER_DMA_OUT,  /* memory -> device (WRITE DMA) */
    IDE_XFER_COUNT
};

/* Optional settings of a hard disk; zero fields take defaults. */
struct ide_disk_opts {
    uint16_t cyls, heads, spt; /* default CHS geometry (all three or none) */
    const char *model;         /* up to 40 characters */
    const char *serial;        /* up to 20 characters */
};

struct ide_channel;
struct ide_ctrl;

struct ide_drive {
    /* configuration (host side, not saved) */
    struct ide_channel *ch;
    unsigned unit; /* 0 master, 1 slave */
    enum ide_kind kind;
    struct block_dev *img; /* disk image, or the CD medium (NULL: none inserted) */
    uint32_t ss;           /* sector size: 512 or 2048 */
    uint64_t sectors;      /* capacity in sectors of ss bytes (0 for an empty CD drive) */
    uint16_t cyls, heads, spt; /* default geometry (disks) */
    char model[41], serial[21], fw[9];
    struct vtimer timer; /* ends the BSY period of a command or PIO block */

    /* task file as this device holds it */
    uint8_t error, status, select;
    uint8_t feature, nsector, sector, lcyl, hcyl;
    uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
    bool intrq; /* interrupt pending until status is read or a command is written */

    /* settings */
    uint8_t mult;      /* sectors per READ/WRITE MULTIPLE block, 0 = disabled */
    uint8_t xfer_mode; /* SET FEATURES 03h value: 0 PIO default, 08h|n PIO, 20h|n MWDMA, 40h|n UDMA */
    bool wcache, lookahead;
    uint16_t cur_cyls, cur_heads, cur_spt; /* INITIALIZE DEVICE PARAMETERS translation */

    /* the command in progress */
    uint8_t cmd;
    uint8_t xfer;          /* enum ide_xfer */
    bool lba_mode, lba48;  /* how the command addressed (for the registers at the end) */
    uint64_t lba;          /* next sector to load into / store from buf */
    uint64_t sectors_left; /* sectors not yet loaded (data-in) or stored (data-out) */
    uint32_t block;        /* PIO data-out: sectors per DRQ block */
    uint32_t buf_pos, drq_end, buf_end; /* data port / DMA position; DRQ block end; valid data end */
    uint8_t post_status;   /* status to show when the BSY period ends */
    bool post_irq;

    /* ATAPI */
    uint16_t bcl;          /* byte count limit of the current PACKET command */
    bool atapi_dma;
    uint8_t cdb[12];
    uint8_t sense_key, asc, ascq;
    bool unit_attention;   /* medium changed: reported by the next command */
    bool tray_open, locked;
    uint8_t media_event;   /* pending GET EVENT STATUS media event code */

    uint8_t buf[IDE_BUF_SIZE];
};

struct ide_channel {
    struct ide_ctrl *ctrl;
    unsigned index;
    struct ide_drive drive[2];
    struct irq_line irq; /* IRQ14 / IRQ15: the machine wires it */
    uint8_t devctl;
    uint8_t unit_sel; /* DEV bit of the last device register write */
    bool irq_level;   /* level last driven on `irq` */

    uint8_t bm_cmd, bm_status;
    uint32_t bm_prd;  /* PRD table pointer register */
    uint32_t bm_next; /* address of the next PRD to fetch */
    uint32_t bm_addr; /* current region: next byte, bytes left, was it the last PRD */
    uint32_t bm_left;
    bool bm_eot;
};

struct ide_ctrl {
    struct device dev;
    struct pci_function pci;
    struct ide_channel ch[2];
    struct memmap *mem;
    struct vclock *clock;  /* NULL: synchronous completion */
    uint64_t latency_ns;   /* BSY time per command / PIO block; 0: synchronous */
    uint32_t bm_base;      /* BAR4 I/O base as last decoded, 0 = not decoded */
    /* Called when the decoded BAR4 window moves (old or new may be 0 = none), so the machine
     * can route ports new..new+15 to ide_bm_io_ops. */
    void (*bm_moved)(void *opaque, uint32_t old_base, uint32_t new_base);
    void *bm_moved_opaque;
};

/* Sets up the controller with no drives, in its power-on state (it clears the whole struct:
 * wire ch[0].irq / ch[1].irq and bm_moved afterwards). `clock` may be NULL; latency_ns may be
 * changed at any time. Machine wiring: pci_bus_add(bus, &c->pci, IDE_PCI_DEVFN),
 * ide_register_ports(), device `c->dev` for reset and snapshots. */
void ide_init(struct ide_ctrl *c, struct memmap *mem, struct vclock *clock);

/* Attach before first use (or reset afterwards). The image stays owned by the caller and must
 * outlive the controller. Returns 0, -EINVAL (bad slot, empty disk image), -EBUSY (taken). */
int ide_attach_disk(struct ide_ctrl *c, unsigned channel, unsigned unit, struct block_dev *img,
                    const struct ide_disk_opts *opts);
/* `medium` may be NULL: an empty drive. */
int ide_attach_cdrom(struct ide_ctrl *c, unsigned channel, unsigned unit, struct block_dev *medium);
/* The host changes the medium (NULL ejects it, even if the guest locked the tray): the guest
 * sees UNIT ATTENTION 28h and a media event. Returns -EINVAL if the slot is not a CD drive. */
int ide_cdrom_change(struct ide_ctrl *c, unsigned channel, unsigned unit, struct block_dev *medium);
bool ide_cdrom_locked(const struct ide_ctrl *c, unsigned channel, unsigned unit);

/* Claims 0x1F0-0x1F7, 0x3F6, 0x170-0x177, 0x376. Returns 0 or -1. */
int ide_register_ports(struct ide_ctrl *c, struct ioport_bus *bus);

/* The bus master window: register these ops on BAR4's 16 ports (the offset is port & 15). */
extern const struct ioport_ops ide_bm_io_ops;
uint32_t ide_bm_read(struct ide_ctrl *c, unsigned off, unsigned size);
void ide_bm_write(struct ide_ctrl *c, unsigned off, uint32_t v, unsigned size);

/* ---- shared by ide.c and atapi.c; not for wiring ---- */
void ide_post(struct ide_drive *d, uint8_t status, bool irq);
void ide_set_irq(struct ide_drive *d);
void ide_try_dma(struct ide_channel *ch);
int ide_load_sectors(struct ide_drive *d, uint32_t max_sectors);
void ide_put_string(uint16_t *words, unsigned first, const char *s, unsigned chars);
void ide_finish_identify(uint16_t *words, uint8_t *out);
void ide_set_signature(struct ide_drive *d);

void atapi_identify(struct ide_drive *d, uint16_t *w);
void atapi_packet(struct ide_drive *d);
void atapi_chunk_done(struct ide_drive *d);
void atapi_dma_done(struct ide_drive *d);
void atapi_fail(struct ide_drive *d, uint8_t key, uint8_t asc, uint8_t ascq);
void atapi_media_change(struct ide_drive *d, struct block_dev *medium);

#endif
