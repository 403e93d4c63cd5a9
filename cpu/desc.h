/* Descriptor-table access shared by segment loads, system instructions and (later) gates. */
#ifndef BT86_DESC_H
#define BT86_DESC_H

#include "cpu/cpu.h"

static inline uint32_t desc_base(uint64_t d)
{
    uint32_t lo = (uint32_t)d, hi = (uint32_t)(d >> 32);
    return (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000u);
}

/* Limit in bytes, granularity applied. */
static inline uint32_t desc_limit(uint64_t d)
{
    uint32_t lo = (uint32_t)d, hi = (uint32_t)(d >> 32);
    uint32_t limit = (lo & 0xFFFF) | (hi & 0x000F0000u);
    return (hi & SEG_G) ? (limit << 12) | 0xFFF : limit;
}

static inline uint32_t desc_hi(uint64_t d) { return (uint32_t)(d >> 32); }

/* Read the descriptor `sel` names (GDT or LDT). False if the selector is null or outside its
 * table (or the LDT is unusable) — no fault: callers decide which one applies. */
bool desc_fetch(struct cpu *c, uint16_t sel, uint64_t *d);
/* Linear address of the descriptor's high dword (for setting accessed/busy bits). */
uint32_t desc_addr(const struct cpu *c, uint16_t sel);

/* Load a segment register's hidden cache from a descriptor. */
void desc_load_cache(struct cpu *c, int sreg, uint16_t sel, uint64_t d);

#endif
