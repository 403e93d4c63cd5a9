; pm_basic: the library's own entry into protected mode, checked from inside.
; Proves: CR0.PE set by a from-scratch switch, CS/SS/DS hold the flat ring-0 selectors, SGDT/
; SIDT/STR read back what was loaded, LSL/LAR report the flat descriptors, the accessed bit is
; written into a descriptor on a segment load, the TSS descriptor is marked busy by LTR, and the
; CPU came out of reset in real mode with CR0 = 0x60000010.
%define TEST_NAME "pm_basic"
%include "guest.inc"

test_main:
        CHECKM "CR0 at reset (CD, NW, ET; PE=PG=0)", [BOOT_CR0], 0xE0000011, 0x60000010
        mov eax, cr0
        CHECKM "CR0.PE and PG after the switch", eax, CR0_PE | CR0_PG, CR0_PE
        xor eax, eax
        mov ax, cs
        CHECK "CS selector", eax, SEL_KCODE
        mov ax, ss
        CHECK "SS selector", eax, SEL_KDATA
        mov ax, ds
        CHECK "DS selector", eax, SEL_KDATA
        sgdt [lib_tmp]
        movzx eax, word [lib_tmp]
        CHECK "SGDT limit", eax, GDT_LIMIT
        CHECK "SGDT base", [lib_tmp + 2], GDT_BASE
        sidt [lib_tmp]
        movzx eax, word [lib_tmp]
        CHECK "SIDT limit", eax, IDT_LIMIT
        CHECK "SIDT base", [lib_tmp + 2], IDT_BASE
        xor eax, eax
        str ax
        CHECK "STR", eax, SEL_TSS0
        ; LTR marked the TSS busy (type 9 -> 11)
        movzx eax, byte [GDT_BASE + SEL_TSS0 + 5]
        CHECK "TSS descriptor access byte after LTR (busy)", eax, 0x8B
        ; the accessed bit of the data descriptor was set when DS was loaded
        movzx eax, byte [GDT_BASE + SEL_KDATA + 5]
        CHECK "data descriptor access byte (accessed set)", eax, 0x93
        mov eax, 0x12345678
        mov ebx, SEL_KCODE
        lsl eax, ebx
        CHECK "LSL of flat code (4 GiB - 1)", eax, 0xFFFFFFFF
        mov ebx, SEL_TSS0
        lsl eax, ebx
        CHECK "LSL of the main TSS", eax, TSS0_LIMIT
        mov ebx, SEL_UDATA3
        lar eax, ebx
        CHECKM "LAR of ring-3 data (not yet accessed)", eax, 0x00F0FF00, 0x00C0F200
        ; a far jump reloads CS in protected mode
        jmp SEL_KCODE:.next
.next:  xor eax, eax
        mov ax, cs
        CHECK "CS after a far JMP", eax, SEL_KCODE
        ret

%include "end.inc"
