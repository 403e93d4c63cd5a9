/* A Motorola MC146818A real-time clock with the 128 bytes of CMOS RAM of a PC/AT chipset, at
 * ports 0x70 (index; bit 7 of a write is the board's NMI-disable latch) and 0x71 (data), and
 * optionally a second 128-byte bank at 0x72/0x73 (PIIX/ICH "upper CMOS").
 *
 * Time is derived, never ticked: the divider is a phase on the virtual clock (clock.h), and
 * every access first applies the update cycles that have ended since the last one. A vtimer is
 * armed only for the earliest interrupt that is enabled and whose flag is still clear, so a
 * guest that enables nothing (or never acknowledges an interrupt) costs no timer events.
 *
 * Timing, in units of the 32.768 kHz time base (datasheet figure 16 and table 6): after the
 * divider leaves reset (DV 11x -> 010) the first update cycle begins 0.5 s later, then once a
 * second. UIP rises 244 us (8 cycles) before an update cycle begins and falls when it ends,
 * 1984 us (65 cycles) later; at that end the time registers take the new second and UF (and AF
 * on an alarm match) are set. Periodic edges of rate f come at (k + 1/2) / f after the divider
 * origin. At creation and after mc146818_set_time, an update cycle has just ended "now": the
 * time read back is exactly the time set, until 1 s of virtual time later.
 *
 * Deliberate simplifications: the board's crystal is 32.768 kHz, and DV 000 / 001 keep correct
 * seconds (only the RS 1-2 rates follow the selected time base); the factory-test DV values
 * (011, 10x) stop the divider like a reset. DSE (daylight saving) is stored but not applied,
 * as in QEMU. The century byte (0x32) is written by mc146818_set_time, never by the chip.
 * Time registers keep the raw bytes the guest wrote (a change of DM or 24/12 is not converted,
 * as on the chip); values out of range are carried like any other and become valid at the next
 * update. */
#ifndef BT86_MC146818_H
#define BT86_MC146818_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "devices/clock.h"
#include "devices/device.h"
#include "devices/ioport.h"

#define RTC_PORT_INDEX 0x70
#define RTC_PORT_DATA 0x71
#define RTC_PORT_INDEX_HI 0x72
#define RTC_PORT_DATA_HI 0x73
#define RTC_NMI_DISABLE 0x80 /* bit 7 of a write to 0x70 */

/* Clock registers (datasheet figure 4) */
enum {
    RTC_SECONDS = 0x00,
    RTC_SECONDS_ALARM = 0x01,
    RTC_MINUTES = 0x02,
    RTC_MINUTES_ALARM = 0x03,
    RTC_HOURS = 0x04, /* 12-hour mode: bit 7 = PM */
    RTC_HOURS_ALARM = 0x05,
    RTC_DAY_OF_WEEK = 0x06, /* 1 = Sunday */
    RTC_DAY_OF_MONTH = 0x07,
    RTC_MONTH = 0x08,
    RTC_YEAR = 0x09, /* 00-99 */
    RTC_REG_A = 0x0A,
    RTC_REG_B = 0x0B,
    RTC_REG_C = 0x0C, /* read only; reading clears it */
    RTC_REG_D = 0x0D, /* read only */
};

#define RTC_A_UIP 0x80    /* read only */
#define RTC_A_DV_MASK 0x70
#define RTC_A_DV_4MHZ 0x00 /* 4.194304 MHz time base */
#define RTC_A_DV_1MHZ 0x10 /* 1.048576 MHz */
#define RTC_A_DV_32KHZ 0x20 /* 32.768 kHz: what every PC uses */
#define RTC_A_DV_RESET 0x60 /* 11x: divider held in reset */
#define RTC_A_RS_MASK 0x0F

#define RTC_B_SET 0x80  /* inhibit updates; setting it clears UIE */
#define RTC_B_PIE 0x40
#define RTC_B_AIE 0x20
#define RTC_B_UIE 0x10
#define RTC_B_SQWE 0x08 /* no SQW pin on a PC: stored only */
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H 0x02
#define RTC_B_DSE 0x01

#define RTC_C_IRQF 0x80
#define RTC_C_PF 0x40
#define RTC_C_AF 0x20
#define RTC_C_UF 0x10

#define RTC_D_VRT 0x80

#define RTC_ALARM_DONT_CARE 0xC0 /* an alarm byte >= 0xC0 matches any value */

/* PC/AT CMOS RAM layout used by BIOSes (SeaBIOS src/hw/rtc.h, IBM AT technical reference). The
 * machine writes these through mc146818_cmos_write; the chip itself never touches them. */
enum {
    CMOS_SHUTDOWN_STATUS = 0x0F,
    CMOS_FLOPPY_TYPES = 0x10, /* drive A high nibble, B low: 4 = 1.44 MB, 5 = 2.88 MB */
    CMOS_DISK_TYPES = 0x12,   /* hard disks 0/1 high/low nibble; 0xF = see 0x19/0x1A */
    CMOS_EQUIPMENT = 0x14,    /* bits 7-6 floppies-1, 5-4 video (00 = EGA/VGA), 1 FPU, 0 floppy */
    CMOS_BASE_MEM_LO = 0x15,  /* 0x15/0x16: base memory in KiB (640) */
    CMOS_BASE_MEM_HI = 0x16,
    CMOS_EXT_MEM_LO = 0x17,   /* 0x17/0x18: KiB above 1 MiB, capped at 0xFFFF */
    CMOS_EXT_MEM_HI = 0x18,
    CMOS_DISK0_TYPE = 0x19,
    CMOS_DISK1_TYPE = 0x1A,
    CMOS_CHECKSUM_HI = 0x2E,  /* 0x2E/0x2F: sum of bytes 0x10-0x2D, big-endian */
    CMOS_CHECKSUM_LO = 0x2F,
    CMOS_EXT_MEM2_LO = 0x30,  /* 0x30/0x31: same value as 0x17/0x18 (POST copy) */
    CMOS_EXT_MEM2_HI = 0x31,
    CMOS_CENTURY = 0x32,      /* in the current DM format (BCD unless the guest changed it) */
    CMOS_MEM_16M_LO = 0x34,   /* 0x34/0x35: 64 KiB units between 16 MiB and 4 GiB, cap 0xFFFF */
    CMOS_MEM_16M_HI = 0x35,
    CMOS_BOOT_FLAGS1 = 0x38,
    CMOS_BOOT_FLAGS2 = 0x3D,
    CMOS_MEM_4G_LO = 0x5B,    /* 0x5B-0x5D: 64 KiB units above 4 GiB, 24-bit little-endian */
    CMOS_MEM_4G_MID = 0x5C,
    CMOS_MEM_4G_HI = 0x5D,
    CMOS_SMP_COUNT = 0x5F,    /* QEMU/SeaBIOS: CPU count - 1 */
};

#define RTC_CMOS_SIZE 256 /* both banks; the low one is 128 bytes */

struct mc146818 {
    struct device dev;
    struct irq_line irq; /* IRQ8 on a PC; the machine wires it */

    /* configuration */
    struct vclock *clock;
    struct vtimer timer;
    bool upper_bank;

    /* guest-visible state */
    uint8_t cmos[RTC_CMOS_SIZE]; /* 0x0A keeps UIP clear; 0x0C holds PF/AF/UF only */
    uint8_t index;               /* 0x00-0x7F, selected through 0x70 */
    uint8_t index_hi;            /* 0x00-0x7F, selected through 0x72 (byte 0x80 + it) */
    bool nmi_disabled;           /* the board's latch in 0x70 bit 7, not part of the chip */

    /* the divider: virtual time at which its count was zero (may precede time 0), and the
     * virtual time up to which updates and flags have been applied */
    int64_t origin_ns;
    uint64_t synced_ns;
    bool irq_level;
};

/* Registers ports 0x70-0x71 (and 0x72-0x73 with upper_bank) and sets the power-on state:
 * A = 0x26 (32.768 kHz, 1024 Hz), B = 0x02 (24-hour, BCD), D = VRT, RAM zeroed, and the time
 * `start` (the machine passes the host's time, or a fixed one for reproducible runs; NULL
 * means 2000-01-01 00:00:00). This module never reads the host clock. Returns 0, or -1 if
 * the ports are taken. */
int mc146818_attach(struct mc146818 *rtc, struct ioport_bus *bus, struct vclock *clock,
                    const struct tm *start, bool upper_bank);

/* Cancels the device's timer; call before freeing it or its clock. */
void mc146818_detach(struct mc146818 *rtc);

/* Sets the time registers (in the current DM and 12/24 format) and the century byte from
 * tm_sec/min/hour/mday/mon/year; the day of the week is computed from the date. The divider
 * is re-phased so that an update cycle ends now. Out-of-range fields are clamped. */
void mc146818_set_time(struct mc146818 *rtc, const struct tm *tm);

/* Seconds since 1970-01-01 00:00:00 UTC to a broken-down UTC time (pure arithmetic, no time
 * zone): for machines and tests that hold a time_t. */
void mc146818_epoch_to_tm(int64_t seconds, struct tm *out);

/* Direct CMOS access for the machine, indices 0x00-0xFF (0x80 and up: the upper bank).
 * Indices 0x00-0x0D behave as a guest access through the ports (a read of C clears it);
 * others are plain RAM. Out-of-range indices read 0xFF and are ignored on write. */
uint8_t mc146818_cmos_read(struct mc146818 *rtc, unsigned index);
void mc146818_cmos_write(struct mc146818 *rtc, unsigned index, uint8_t value);

/* Fills the memory-size bytes a PC BIOS reads, from the RAM below 4 GiB and above it:
 *   0x15/0x16  base memory in KiB: min(below, 640 KiB)
 *   0x17/0x18  extended memory above 1 MiB in KiB, capped at 0xFFFF (~64 MiB)
 *   0x30/0x31  the same as 0x17/0x18
 *   0x34/0x35  RAM between 16 MiB and 4 GiB in 64 KiB units, capped at 0xFFFF
 *   0x5B-0x5D  RAM above 4 GiB in 64 KiB units, 24 bits (capped at 2^24 - 1)
 * then recomputes the checksum. */
void mc146818_set_memory_size(struct mc146818 *rtc, uint64_t below_4g, uint64_t above_4g);

/* Recomputes the standard checksum at 0x2E/0x2F (sum of 0x10-0x2D); call after writing bytes
 * in that range. */
void mc146818_update_checksum(struct mc146818 *rtc);

/* The NMI mask latched from the last write to port 0x70. */
static inline bool mc146818_nmi_disabled(const struct mc146818 *rtc) { return rtc->nmi_disabled; }

#endif
