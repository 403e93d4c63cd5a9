#!/usr/bin/env bash
# Runs the SDL window test on a private Xvfb screen; exit 77 (skipped) when Xvfb or xwd is
# missing (scripts/setup.sh installs both: xvfb, x11-apps).
set -u
prog=$1
# Optional: an SDL render driver to force (software, opengl, ...).
[ $# -ge 2 ] && export SDL_RENDER_DRIVER=$2
for tool in xvfb-run Xvfb xwd xauth; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIPPED: $tool is not installed (Debian packages xvfb, x11-apps, xauth)"
        exit 77
    fi
done
# A screen larger than the 1440x800 window, so the window opens at 2x; X11 even if the
# session has Wayland, so the screenshot shows what SDL drew.
unset WAYLAND_DISPLAY
export SDL_VIDEODRIVER=x11
exec xvfb-run -a -s "-screen 0 1600x1200x24 -nolisten tcp" "$prog" window
