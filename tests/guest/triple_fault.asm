; triple_fault: shutdown on a fault while delivering a double fault, and the reset that follows
; (SDM vol. 3, 6.15 #DF: "If another exception occurs while attempting to call the double-fault
; handler, the processor enters shutdown mode"; 9.1.1 processor state after reset).
; The first boot leaves a marker in RAM (PERSIST) and triple-faults with an IDT limit of 0:
; #UD cannot be delivered (#GP), nor can the #GP (#DF), nor the #DF. The machine resets with RAM
; kept (as a PC does), the program starts again at F000:FFF0, sees the marker and checks that a
; real reset happened: a second start counted in RAM, CR0 back to its reset value. Run without
; -no-reboot.
%define TEST_NAME "triple_fault"
%include "guest.inc"

MAGIC   equ 0x3F417441

test_main:
        cmp dword [PERSIST], MAGIC
        je .second_boot
        cmp dword [BOOT_COUNT], 1
        jne .confused
        mov dword [PERSIST], MAGIC
        mov dword [PERSIST + 4], 0
        COMMENT "first boot: marker written, IDT limit 0, UD2: triple fault now"
        mov word [lib_tmp], 0
        mov dword [lib_tmp + 2], IDT_BASE
        lidt [lib_tmp]
        ud2
        ; not reached if the machine shut down and reset
        mov ax, SEL_KDATA
        mov ds, ax
        FAIL_MSG "execution continued after the triple fault"
        ret

.second_boot:
        mov dword [PERSIST], 0          ; a third start would not see the marker
        PASS_MSG "second boot: the marker written before the triple fault survived the reset"
        CHECK "starts since power-on (RAM kept across the reset)", [BOOT_COUNT], 2
        CHECKM "CR0 at the restart = reset value (PE=PG=0, CD, NW, ET)", [BOOT_CR0], 0xE0000011, 0x60000010
        ret

.confused:
        FAIL_MSG "started more than once without the marker (reset lost RAM?)"
        ret

%include "end.inc"
