/* The virtual clock and its timers (DESIGN decision 7: time is virtual).
 *
 * Devices read the time with vclock_now() and arm one-shot timers; the machine advances the
 * clock — from executed instructions (reproducible runs) or from host time (interactive) —
 * and expired timers run in deadline order from vclock_advance(). Nothing here reads the
 * host clock. */
#ifndef BT86_CLOCK_H
#define BT86_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define NS_PER_SEC 1000000000ull

struct vclock;

struct vtimer {
    struct vclock *clock;
    void (*fire)(void *opaque);
    void *opaque;
    uint64_t deadline; /* ns of virtual time */
    bool armed;
    struct vtimer *next; /* in the clock's list, sorted by deadline */
};

struct vclock {
    uint64_t now;          /* ns since power-on, as of the last vclock_advance */
    struct vtimer *armed;  /* sorted, earliest first */
    /* Optional: an instruction counter, so that time moves on while the CPU runs a slice
     * (a guest polling a device in a loop sees time pass, not the slice's start). NULL: time
     * moves only by vclock_advance. */
    const uint64_t *count;
    uint64_t count_base;   /* *count at `now` */
    uint32_t ns_per_count;
};

void vclock_init(struct vclock *c);
/* Time also runs with *count (ns_per_count ns per step) between advances. The machine ends
 * every slice at the earliest deadline, so the time read inside a slice never passes a timer
 * that was armed when the slice began. */
void vclock_attach_counter(struct vclock *c, const uint64_t *count, uint32_t ns_per_count);
static inline uint64_t vclock_now(const struct vclock *c)
{
    if (!c->count)
        return c->now;
    /* A counter that went back (the CPU was reset) stops time until the next advance. */
    uint64_t d = *c->count >= c->count_base ? *c->count - c->count_base : 0;
    return c->now + d * c->ns_per_count;
}
/* Earliest armed deadline, or UINT64_MAX. */
static inline uint64_t vclock_next_deadline(const struct vclock *c)
{
    return c->armed ? c->armed->deadline : UINT64_MAX;
}
/* Move time forward to `now` (never backwards; at least to what the counter says), firing
 * every timer whose deadline has come, each with the clock set to its own deadline. A
 * callback may re-arm its timer. */
void vclock_advance(struct vclock *c, uint64_t now);

void vtimer_init(struct vtimer *t, struct vclock *c, void (*fire)(void *opaque), void *opaque);
/* Arm (or re-arm) for an absolute deadline; a deadline in the past fires at the next advance. */
void vtimer_arm(struct vtimer *t, uint64_t deadline);
void vtimer_cancel(struct vtimer *t);

#endif
