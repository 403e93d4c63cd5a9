#include "devices/clock.h"

#include <stddef.h>

void vclock_init(struct vclock *c)
{
    c->now = 0;
    c->armed = NULL;
    c->count = NULL;
    c->count_base = 0;
    c->ns_per_count = 0;
}

void vclock_attach_counter(struct vclock *c, const uint64_t *count, uint32_t ns_per_count)
{
    c->count = count;
    c->count_base = count ? *count : 0;
    c->ns_per_count = ns_per_count;
}

void vtimer_init(struct vtimer *t, struct vclock *c, void (*fire)(void *opaque), void *opaque)
{
    t->clock = c;
    t->fire = fire;
    t->opaque = opaque;
    t->deadline = 0;
    t->armed = false;
    t->next = NULL;
}

void vtimer_cancel(struct vtimer *t)
{
    if (!t->armed)
        return;
    for (struct vtimer **p = &t->clock->armed; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    t->armed = false;
    t->next = NULL;
}

void vtimer_arm(struct vtimer *t, uint64_t deadline)
{
    vtimer_cancel(t);
    t->deadline = deadline;
    struct vtimer **p = &t->clock->armed;
    /* After equal deadlines: timers armed for the same instant fire in arming order. */
    while (*p && (*p)->deadline <= deadline)
        p = &(*p)->next;
    t->next = *p;
    *p = t;
    t->armed = true;
}

void vclock_advance(struct vclock *c, uint64_t now)
{
    if (c->count) { /* fold what the counter ran into `now` */
        c->now = vclock_now(c);
        c->count_base = *c->count;
        if (now < c->now)
            now = c->now;
    }
    while (c->armed && c->armed->deadline <= now) {
        struct vtimer *t = c->armed;
        c->armed = t->next;
        t->next = NULL;
        t->armed = false;
        if (t->deadline > c->now)
            c->now = t->deadline;
        t->fire(t->opaque);
    }
    if (now > c->now)
        c->now = now;
}
