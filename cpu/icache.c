#include "cpu/icache.h"

#include <stdlib.h>

struct icache *icache_create(struct memmap *mem)
{
    struct icache *ic = calloc(1, sizeof(*ic));
    if (!ic)
        return NULL;
    ic->e = calloc(ICACHE_SIZE, sizeof(*ic->e));
    ic->page_gen = calloc(PHYS_PAGES, sizeof(*ic->page_gen));
    ic->blocks = calloc(IBLOCK_SIZE, sizeof(*ic->blocks));
    ic->pool = calloc(IBLOCK_POOL, sizeof(*ic->pool));
    if (!ic->e || !ic->page_gen || !ic->blocks || !ic->pool) {
        icache_destroy(ic);
        return NULL;
    }
    ic->mem = mem;
    ic->block_limit = IBLOCK_MAX_INSNS;
    icache_flush(ic);
    return ic;
}

void icache_destroy(struct icache *ic)
{
    if (!ic)
        return;
    free(ic->e);
    free(ic->page_gen);
    free(ic->blocks);
    free(ic->pool);
    free(ic);
}

void icache_drop_blocks(struct icache *ic)
{
    for (unsigned i = 0; i < IBLOCK_SIZE; i++)
        ic->blocks[i].key = 0xFFFFFFFFu;
    ic->pool_used = 0;
}

void icache_flush(struct icache *ic)
{
    /* Key 0xFFFFFFFF can never be produced while the epoch is below 2^30. */
    for (unsigned i = 0; i < ICACHE_SIZE; i++)
        ic->e[i].key = 0xFFFFFFFFu;
    icache_drop_blocks(ic);
    ic->epoch = 0;
    ic->map_epoch = 0;
}

void icache_new_epoch(struct icache *ic)
{
    if (++ic->epoch >= (1u << 29))
        icache_flush(ic);
}

void icache_new_map_epoch(struct icache *ic)
{
    if (++ic->map_epoch >= (1u << 29))
        icache_flush(ic);
    else
        icache_new_epoch(ic);
}

void icache_code_written(void *opaque, uint32_t phys_page_addr)
{
    struct icache *ic = opaque;
    ic->page_gen[phys_page_addr >> PAGE_SHIFT]++;
}
