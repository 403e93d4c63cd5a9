#!/usr/bin/env bash
# bt86's window as a person uses it: FreeDOS boots in `bt86 -display sdl` on a private Xvfb
# screen, `dir` and Return are typed as real X key events (xdotool), the window is dumped
# with xwd and must show, pixel for pixel, the frame bt86 renders (--screenshot at exit),
# and the screen must hold the listing. Closing the window (WM_DELETE_WINDOW) ends the run.
#
#   freedos_window.sh BT86 X11_CLOSE WINDOW_CHECK IMAGE
# Exit 77 (skipped) when a tool or the image is missing.
set -u
bt86=$1 x11_close=$2 window_check=$3 image=$4
if [ -z "${BT86_IN_XVFB:-}" ]; then
    for tool in xvfb-run Xvfb xwd xauth xdotool; do
        if ! command -v "$tool" >/dev/null; then
            echo "SKIPPED: $tool is not installed (scripts/setup.sh: xvfb, x11-apps, xauth, xdotool)"
            exit 77
        fi
    done
    if [ ! -f "$image" ]; then
        echo "SKIPPED: no $image"
        exit 77
    fi
    # X11 even if the session has Wayland: xdotool and xwd speak X.
    unset WAYLAND_DISPLAY
    export SDL_VIDEODRIVER=x11 BT86_IN_XVFB=1
    exec timeout 55 xvfb-run -a -s "-screen 0 1600x1200x24 -nolisten tcp" "$0" "$@"
fi

dir=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    echo "--- bt86's standard error"; cat "$dir/err"
    echo "--- bt86's screen"; cat "$dir/screen"
    exit 1
}
# Waits (up to $2 tenths of a second) for bt86 to report that the screen shows $1.
wait_text() {
    for _ in $(seq "$2"); do
        grep -qF "'$1' appeared on the screen" "$dir/err" && return 0
        kill -0 "$pid" 2>/dev/null || fail "bt86 ended while waiting for '$1'"
        sleep 0.1
    done
    fail "'$1' did not appear"
}

# The --wait-text steps only report progress on stderr; they type nothing.
"$bt86" -fda "$image" --read-only -display sdl -rtc base=2000-01-01 \
    --wait-text 'A:\>' --wait-text 'bytes free' \
    --screenshot "$dir/frame.png" --print-screen >"$dir/screen" 2>"$dir/err" &
pid=$!
wait_text 'A:\>' 300
wid=$(xdotool search --sync --name '^bt86 - freedos-boot-1440k\.img \[running\]$' | head -1)
[ -n "$wid" ] || fail "no window titled 'bt86 - freedos-boot-1440k.img [running]'"
echo "window $wid: $(xdotool getwindowname "$wid")"
# No window manager: give it the focus, and the pointer, so X sends it the keys.
xdotool mousemove --window "$wid" 100 100
xdotool windowfocus --sync "$wid"
xdotool type --delay 50 dir
xdotool key Return
wait_text 'bytes free' 300
sleep 0.5 # a few 60 Hz frames: the window catches up with the screen
xwd -id "$wid" -silent -out "$dir/window.xwd" || fail "xwd failed"
"$x11_close" "$wid" || fail "cannot ask the window to close"
wait "$pid"
status=$?
pid=
[ "$status" -eq 0 ] || fail "bt86 exited with status $status after the window was closed"
cat "$dir/screen"
grep -qE '^KERNEL +SYS' "$dir/screen" || fail "no KERNEL SYS in the directory listing"
grep -qE '^A:\\>dir$' "$dir/screen" || fail "the typed command is not on the screen"
"$window_check" "$dir/window.xwd" "$dir/frame.png" || fail "the window does not show the frame"
echo "PASS"
