/* The PC's screen and input in a desktop window: the run loop's tick (machine.h) shows VGA
 * frames and feeds the window's keyboard and mouse to the PS/2 devices. */
#ifndef BT86_WINDOW_H
#define BT86_WINDOW_H

#include <stdbool.h>
#include <stddef.h>

#include "machine/machine.h"

struct window;

/* Opens the window titled "bt86 - NAME [running]" and hooks it into m's run loop (m must be
 * a PC). NULL with the reason in err. */
struct window *window_open(struct machine *m, const char *name, char *err, size_t errlen);
/* The state in the title: running, halted, stopped, reset. */
void window_set_state(struct window *w, const char *state);
/* After the run: shows the last frame and waits until the user closes the window. */
void window_wait_close(struct window *w, struct machine *m);
void window_close(struct window *w, struct machine *m);

#endif
