# Included by tests/system/CMakeLists.txt: the PC board's resets and memtest86+.

# ---- Resets: port 0xCF9 (hard and soft), the 8042's pulse, port 0x92's fast INIT ----
# pcreset.asm, one 64 KiB firmware per reset kind, run as the PC's BIOS: the second boot finds
# RAM kept and the 8259 reset (hard) or not (INIT). The LOOP builds reset on every boot.
set(PCRESET_SRC ${CMAKE_CURRENT_SOURCE_DIR}/pcreset.asm)
set(PCRESET_KINDS cf9_hard cf9_soft kbc port92)
set(PCRESET_DEFS_cf9_hard -DCF9_HARD -DHARD)
set(PCRESET_DEFS_cf9_soft -DCF9_SOFT)
set(PCRESET_DEFS_kbc -DKBC -DHARD)
set(PCRESET_DEFS_port92 -DP92)
set(PCRESET_ROMS)
foreach(kind ${PCRESET_KINDS})
  set(rom ${CMAKE_CURRENT_BINARY_DIR}/pcreset_${kind}.bin)
  set(loop ${CMAKE_CURRENT_BINARY_DIR}/pcreset_${kind}_loop.bin)
  add_custom_command(OUTPUT ${rom} ${loop}
    COMMAND nasm -f bin ${PCRESET_DEFS_${kind}} -o ${rom} ${PCRESET_SRC}
    COMMAND nasm -f bin ${PCRESET_DEFS_${kind}} -DLOOP -o ${loop} ${PCRESET_SRC}
    DEPENDS ${PCRESET_SRC} VERBATIM)
  list(APPEND PCRESET_ROMS ${rom} ${loop})
endforeach()
add_custom_target(pcreset_roms ALL DEPENDS ${PCRESET_ROMS})

set(PCRESET_ARGS -M pc -display none -debugcon stdio)
set(PCRESET_WHY_cf9_hard "port 0xCF9 hard reset")
set(PCRESET_WHY_cf9_soft "port 0xCF9 soft reset")
set(PCRESET_WHY_kbc "keyboard controller reset")
set(PCRESET_WHY_port92 "port 0x92 fast reset")
set(PCRESET_DOES_cf9_hard "resetting the machine")
set(PCRESET_DOES_cf9_soft "restarting the CPU \\(INIT\\)")
set(PCRESET_DOES_kbc "resetting the machine")
set(PCRESET_DOES_port92 "restarting the CPU \\(INIT\\)")
set(PCRESET_TESTS)
foreach(kind ${PCRESET_KINDS})
  set(rom ${CMAKE_CURRENT_BINARY_DIR}/pcreset_${kind}.bin)
  set(why ${PCRESET_WHY_${kind}})
  add_test(NAME system_pc_reset_${kind}
    COMMAND ${EXPECT} 60 33 "pcreset: first boot" "pcreset: PASS second boot"
            "bt86: ${why} after [0-9]+ instructions: ${PCRESET_DOES_${kind}} \\(reset 1\\)"
            "!FAIL"
            -- ${BT86} -bios ${rom} ${PCRESET_ARGS})
  add_test(NAME system_pc_reset_${kind}_loop
    COMMAND ${EXPECT} 60 3 "reset loop: the guest reset the machine 8 times in a row" "!FAIL"
            -- ${BT86} -bios ${CMAKE_CURRENT_BINARY_DIR}/pcreset_${kind}_loop.bin ${PCRESET_ARGS})
  add_test(NAME system_pc_reset_${kind}_no_reboot
    COMMAND ${EXPECT} 60 3 "pcreset: first boot" "asked for a reset \\(${why}\\); -no-reboot"
            "!PASS" "!FAIL"
            -- ${BT86} -bios ${rom} ${PCRESET_ARGS} -no-reboot)
  list(APPEND PCRESET_TESTS system_pc_reset_${kind} system_pc_reset_${kind}_loop
       system_pc_reset_${kind}_no_reboot)
endforeach()
set_tests_properties(${PCRESET_TESTS} PROPERTIES LABELS system TIMEOUT 90)

# ---- memtest86+ (Debian's package) starts testing ----
# A GRUB CD whose only entry runs linux16 /boot/memtest86+ia32.bin, as Debian's menu entry
# does. memtest86+ waits 3 s for a key before it starts on its own (busy-polling the TSC, slow
# to emulate); Enter is what its screen asks for. It must reach its third test with no error.
set(MEMTEST_ISO ${CMAKE_CURRENT_BINARY_DIR}/memtest.iso)
add_test(NAME system_pc_make_memtest_iso COMMAND ${MAKE_ISO} memtest ${MEMTEST_ISO})
set_tests_properties(system_pc_make_memtest_iso PROPERTIES FIXTURES_SETUP memtest_iso
                     LABELS system TIMEOUT 120 SKIP_RETURN_CODE 77)
if(EXISTS ${SEABIOS})
  add_test(NAME system_pc_memtest86plus
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/need_file.sh ${MEMTEST_ISO}
            ${EXPECT} 300 0 "Booting from DVD/CD" "Memtest86\\+ v[0-9]" "Status: Testing"
            "Test #2 +\\[" "Errors: 0" "'Test #2' appeared on the screen"
            -- ${BT86} -m 16 -cdrom ${MEMTEST_ISO} -bios ${SEABIOS} --read-only
               -rtc base=2000-01-01 -display none -boot d -debugcon stdio --time-limit 3000
               --wait-text "to start testing" --type "\\r" --wait-text "Status: Testing"
               --expect-text "Test #2" --print-screen)
  set_tests_properties(system_pc_memtest86plus PROPERTIES FIXTURES_REQUIRED memtest_iso
                       LABELS system TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()

# ---- KolibriOS (the corpus floppy) reaches its graphical desktop ----
# Its loader waits 5 s at its settings screen, reads the floppy into RAM and starts the kernel
# in an 800x600 VESA mode; after 12 s of virtual time the blue desktop must be on the screen.
set(KOLIBRI ${BT86_CORPORA}/images/kolibri-1440k.img)
if(EXISTS ${SEABIOS})
  add_test(NAME system_pc_kolibri_desktop
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/need_file.sh ${KOLIBRI}
            ${EXPECT} 600 0 "800x600, [0-9.]+% blue pixels" "png_check: PASS"
            -- ${CMAKE_CURRENT_SOURCE_DIR}/screenshot_check.sh
               ${CMAKE_CURRENT_BINARY_DIR}/kolibri_desktop.png 800 600 0.3
               -- ${BT86} -fda ${KOLIBRI} ${PC_ARGS} --time-limit 12000)
  set_tests_properties(system_pc_kolibri_desktop PROPERTIES LABELS system TIMEOUT 700
                       SKIP_RETURN_CODE 77)
endif()
