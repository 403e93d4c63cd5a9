/* The binary translator: turns the interpreter's decoded blocks (struct insn, the one decoder)
 * into x86-64 host code.
 *
 * A translated block keeps the interpreter's contract exactly: before each instruction that
 * is not generated inline it stores the instruction's EIP, ESP and the next EIP where the
 * precise-fault machinery expects them, then calls the same handler the interpreter would;
 * instructions generated inline are ones that cannot fault. So a fault anywhere in a block
 * unwinds and is delivered exactly as in the interpreter (docs/translator.md). */
#ifndef BT86_TRANSLATOR_H
#define BT86_TRANSLATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/cpu.h"

struct translator_stats {
    uint64_t blocks;        /* translations made */
    uint64_t guest_insns;   /* guest instructions translated */
    uint64_t inline_insns;  /* ... of which generated inline */
    uint64_t host_bytes;    /* host code emitted */
    uint64_t flushes;       /* code cache flushes (it was full) */
    uint64_t chains;        /* block exits patched to jump straight to the next block */
    uint64_t failures;      /* blocks whose code did not fit the bound (left interpreted) */
};

struct translator;

/* `cache_bytes`: size of the code cache (0: the default). NULL on failure (errno set). */
struct translator *translator_create(size_t cache_bytes);
void translator_destroy(struct translator *t);
/* Make `c` run its blocks through `t` (NULL detaches). */
void translator_attach(struct translator *t, struct cpu *c);
void translator_get_stats(const struct translator *t, struct translator_stats *out);
/* Translate a block on its `runs`-th execution (1: before its first). */
void translator_set_hot_runs(struct translator *t, uint32_t runs);
/* Whether blocks may go on to the next block without returning (static exits patched by the
 * run loop, indirect ones looked up by the code itself). Compare mode runs one block at a
 * time and turns it off before translating anything. */
void translator_set_chaining(struct translator *t, bool on);

/* For compare mode and diagnostics. */
struct iblock;
cpu_host_block translator_translate(struct translator *t, struct cpu *c, struct iblock *b,
                                    uint32_t eip);
/* Generate block `b` into w[cap] (no code cache involved); returns the size, 0 if too small. */
size_t translator_emit_block(const struct cpu *c, const struct iblock *b, uint32_t eip,
                             uint8_t *w, size_t cap, unsigned *inlined);
size_t translator_block_bound(const struct iblock *b);
/* The same for the code cache: `cache_gen` is the generation the code will be valid for and
 * `exec_base` the address w[0] will run at (chaining needs both). */
size_t translator_emit_chained(const struct cpu *c, const struct iblock *b, uint32_t eip,
                               uint8_t *w, size_t cap, unsigned *inlined, uint32_t cache_gen,
                               uintptr_t exec_base, bool indirect);
/* The code cache generation translations are valid for. */
const uint32_t *translator_generation(const struct translator *t);

/* Lockstep compare mode (--engine=compare): every translated block is first run by the
 * interpreter, undone, then run as host code, and the two results compared. The first
 * divergence is reported on `report` with both states and both codes, and stops the CPU. */
struct translator_compare;
struct translator_compare *translator_compare_create(struct translator *t, FILE *report);
void translator_compare_destroy(struct translator_compare *k);
void translator_compare_attach(struct translator_compare *k, struct cpu *c);
bool translator_compare_diverged(const struct translator_compare *k);
void translator_compare_counts(const struct translator_compare *k, uint64_t *compared,
                               uint64_t *skipped);

#endif
