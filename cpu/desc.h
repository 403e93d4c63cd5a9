/* Descriptor-table access shared by segment loads, system instructions, gates and task switches. */
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

/* System descriptor types (S = 0). */
enum {
    DESC_T_TSS16 = 1, DESC_T_LDT = 2, DESC_T_TSS16_BUSY = 3, DESC_T_CALL16 = 4,
    DESC_T_TASK = 5, DESC_T_INT16 = 6, DESC_T_TRAP16 = 7, DESC_T_TSS32 = 9,
    DESC_T_TSS32_BUSY = 11, DESC_T_CALL32 = 12, DESC_T_INT32 = 14, DESC_T_TRAP32 = 15,
};

/* Predicates on a descriptor's high dword (or a segment cache's attr, which keeps its bits). */
static inline bool desc_is_code(uint32_t hi) { return (hi & SEG_S) && (SEG_TYPE(hi) & 8); }
static inline bool desc_is_conforming(uint32_t hi)
{
    return (hi & SEG_S) && (SEG_TYPE(hi) & 0xC) == 0xC;
}
static inline bool desc_is_writable_data(uint32_t hi)
{
    return (hi & SEG_S) && (SEG_TYPE(hi) & 0xA) == 2;
}

/* Gates: target selector, entry offset (16 bits for 286 gates), call-gate parameter count. */
static inline uint16_t gate_selector(uint64_t d) { return (uint16_t)((uint32_t)d >> 16); }
static inline uint32_t gate_offset(uint64_t d)
{
    uint32_t lo = (uint32_t)d & 0xFFFF;
    return (SEG_TYPE(desc_hi(d)) & 8) ? lo | (desc_hi(d) & 0xFFFF0000u) : lo;
}
static inline unsigned gate_params(uint64_t d) { return desc_hi(d) & 0x1F; }

/* Read the descriptor `sel` names (GDT or LDT). False if the selector is null or outside its
 * table (or the LDT is unusable) — no fault: callers decide which one applies. */
bool desc_fetch(struct cpu *c, uint16_t sel, uint64_t *d);
/* Linear address of the descriptor's high dword (for setting accessed/busy bits). */
uint32_t desc_addr(const struct cpu *c, uint16_t sel);

/* Load a segment register's hidden cache from a descriptor. */
void desc_load_cache(struct cpu *c, int sreg, uint16_t sel, uint64_t d);

#endif
