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
    uint64_t now;          /* ns since power-on */
    struct vtimer *armed;  /* sorted, earliest first */
};

void vclock_init(struct vclock *c);
static inline uint64_t vclock_now(const struct vclock *c) { return c->now; }
/* Earliest armed deadline, or UINT64_MAX. */
static inline uint64_t vclock_next_deadline(const struct vclock *c)
{
    return c->armed ? c->armed->deadline : UINT64_MAX;
}
/* Move time forward to `now` (never backwards), firing every timer whose deadline has come,
 * each with the clock set to its own deadline. A callback may re-arm its timer. */
void vclock_advance(struct vclock *c, uint64_t now);

void vtimer_init(struct vtimer *t, struct vclock *c, void (*fire)(void *opaque), void *opaque);
/* Arm (or re-arm) for an absolute deadline; a deadline in the past fires at the next advance. */
void vtimer_arm(struct vtimer *t, uint64_t deadline);
void vtimer_cancel(struct vtimer *t);

#endif
