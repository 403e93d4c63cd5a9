; pg_repmovs: page faults in the middle of REP string instructions, fixed by the handler,
; resumed to completion (SDM vol. 3, 6.5 "Exception Classifications": faults are restartable;
; vol. 2 REP: "a fault ... the registers reflect the state after the last completed
; iteration").
; Proves, for REP MOVSD forward (destination or source page missing), backward (DF=1), with an
; element straddling two pages, for REP STOSB, from ring 3, and with two faults in one
; instruction: the fault arrives with ECX/ESI/EDI of the first iteration not done, CR2 = the
; missing address, EIP = the REP instruction, error code W/U as the access; an element that
; straddles into the missing page is not partly written; after the handler maps the page and
; IRETs, the instruction completes with the exact final ECX/ESI/EDI and the right data, and
; nothing beyond the end is written.
%define TEST_NAME "pg_repmovs"
%include "guest.inc"

; linear TEST_LIN + x maps to SCRATCH + x; the handler maps the missing page by that rule
%define LIN(x) (TEST_LIN + (x))
%define PHY(x) (SCRATCH + (x))

        absolute TEST_VARS
pf_count:       resd 1
pf_cr2:         resd 1
pf_err:         resd 1
pf_eip:         resd 1
pf_ecx:         resd 1
pf_esi:         resd 1
pf_edi:         resd 1
pf_cs:          resd 1
pf_straddle:    resd 1
res_ecx:        resd 1
res_esi:        resd 1
res_edi:        resd 1
        section .text

%macro MAP 1
        mov dword [PTE(LIN(%1))], PHY(%1) | PG_P | PG_RW | PG_US
%endmacro

test_main:
        ; source pattern: dword i of SCRATCH..SCRATCH+0x12000 holds 0x5EED0000 + i; the rest of
        ; the area the tests write is set to 0xCCCCCCCC first
        mov edi, PHY(0)
        xor eax, eax
.fill:  lea ebx, [eax + 0x5EED0000]
        mov [edi + eax * 4], ebx
        inc eax
        cmp eax, 0x12000 / 4
        jb .fill
        call paging_init
        SET_GATE 14, pf_fix, GATE_INT0
        PAGING_ON

        ; ---- 1: REP MOVSD forward, destination page missing ----
        MAP 0x0000
        MAP 0x1000
        MAP 0x2000
        call fill_cc_2000_4000
        call reset_pf
        cld
        mov esi, LIN(0x0800)
        mov edi, LIN(0x2800)
        mov ecx, 0x300
.i1:    rep movsd
        call save_result
        CHECK "fwd dst: faults taken", [pf_count], 1
        CHECK "fwd dst: error code (W)", [pf_err], PF_W
        CHECK "fwd dst: CR2", [pf_cr2], LIN(0x3000)
        CHECK "fwd dst: pushed EIP = the REP MOVSD", [pf_eip], .i1
        CHECK "fwd dst: ECX at the fault", [pf_ecx], 0x100
        CHECK "fwd dst: ESI at the fault", [pf_esi], LIN(0x1000)
        CHECK "fwd dst: EDI at the fault", [pf_edi], LIN(0x3000)
        CHECK "fwd dst: final ECX", [res_ecx], 0
        CHECK "fwd dst: final ESI", [res_esi], LIN(0x1400)
        CHECK "fwd dst: final EDI", [res_edi], LIN(0x3400)
        mov esi, LIN(0x0800)
        mov edi, LIN(0x2800)
        mov ecx, 0x300
        repe cmpsd
        CHECK "fwd dst: all 0x300 dwords copied (REPE CMPSD count left)", ecx, 0
        CHECK "fwd dst: dword after the end untouched", [LIN(0x3400)], 0xCCCCCCCC
        CHECK "fwd dst: dword before the start untouched", [LIN(0x27FC)], 0xCCCCCCCC

        ; ---- 2: REP MOVSD forward, source page missing ----
        MAP 0x4000
        MAP 0x6000
        MAP 0x7000
        call reset_pf
        mov esi, LIN(0x4F00)
        mov edi, LIN(0x6000)
        mov ecx, 0x100
.i2:    rep movsd
        call save_result
        CHECK "fwd src: faults taken", [pf_count], 1
        CHECK "fwd src: error code (read)", [pf_err], 0
        CHECK "fwd src: CR2", [pf_cr2], LIN(0x5000)
        CHECK "fwd src: pushed EIP", [pf_eip], .i2
        CHECK "fwd src: ECX at the fault", [pf_ecx], 0xC0
        CHECK "fwd src: ESI at the fault", [pf_esi], LIN(0x5000)
        CHECK "fwd src: EDI at the fault", [pf_edi], LIN(0x6100)
        CHECK "fwd src: final ECX", [res_ecx], 0
        CHECK "fwd src: final ESI", [res_esi], LIN(0x5300)
        CHECK "fwd src: final EDI", [res_edi], LIN(0x6400)
        CHECK "fwd src: first dword from the missing page", [LIN(0x6100)], 0x5EED0000 + 0x5000 / 4
        CHECK "fwd src: last dword", [LIN(0x63FC)], 0x5EED0000 + 0x52FC / 4

        ; ---- 3: REP MOVSD backward (DF=1), destination page missing ----
        MAP 0x9000
        MAP 0xA000
        MAP 0xB000
        call reset_pf
        std
        mov esi, LIN(0xB010)
        mov edi, LIN(0x9010)
        mov ecx, 0x10
.i3:    rep movsd
        cld
        call save_result
        CHECK "backward: faults taken", [pf_count], 1
        CHECK "backward: error code (W)", [pf_err], PF_W
        CHECK "backward: CR2", [pf_cr2], LIN(0x8FFC)
        CHECK "backward: pushed EIP", [pf_eip], .i3
        CHECK "backward: ECX at the fault", [pf_ecx], 0x0B
        CHECK "backward: ESI at the fault", [pf_esi], LIN(0xAFFC)
        CHECK "backward: EDI at the fault", [pf_edi], LIN(0x8FFC)
        CHECK "backward: final ECX", [res_ecx], 0
        CHECK "backward: final ESI", [res_esi], LIN(0xAFD0)
        CHECK "backward: final EDI", [res_edi], LIN(0x8FD0)
        CHECK "backward: lowest dword copied", [LIN(0x8FD4)], 0x5EED0000 + 0xAFD4 / 4

        ; ---- 4: an element straddling into the missing page ----
        MAP 0xC000
        mov dword [LIN(0xCFF4)], 0xCCCCCCCC
        mov dword [LIN(0xCFF8)], 0xCCCCCCCC
        mov dword [LIN(0xCFFC)], 0xCCCCCCCC
        mov dword [PHY(0xD000)], 0xCCCCCCCC
        mov dword [PHY(0xD004)], 0xCCCCCCCC
        call reset_pf
        mov dword [pf_straddle], 1      ; the handler records the bytes at LIN(0xCFFE)
        mov esi, LIN(0x0000)
        mov edi, LIN(0xCFF6)
        mov ecx, 4
.i4:    rep movsd
        call save_result
        CHECK "straddle: faults taken", [pf_count], 1
        CHECK "straddle: CR2 = first byte of the missing page", [pf_cr2], LIN(0xD000)
        CHECK "straddle: pushed EIP", [pf_eip], .i4
        CHECK "straddle: ECX at the fault", [pf_ecx], 2
        CHECK "straddle: ESI at the fault", [pf_esi], LIN(0x0008)
        CHECK "straddle: EDI at the fault", [pf_edi], LIN(0xCFFE)
        CHECK "straddle: present half of the element not written at the fault", [pf_straddle], 0xCCCC
        CHECK "straddle: final ECX", [res_ecx], 0
        CHECK "straddle: final ESI", [res_esi], LIN(0x0010)
        CHECK "straddle: final EDI", [res_edi], LIN(0xD006)
        CHECK "straddle: element 2 (straddling) low half", [LIN(0xCFFC)], 0x00025EED
        CHECK "straddle: element 2 high half and element 3", [LIN(0xD000)], 0x00035EED
        CHECKM "straddle: byte after the end untouched", [LIN(0xD004)], 0xFFFF0000, 0xCCCC0000

        ; ---- 5: REP STOSB ----
        MAP 0xE000
        call reset_pf
        mov eax, 0x5A
        mov edi, LIN(0xEFFD)
        mov ecx, 10
.i5:    rep stosb
        call save_result
        CHECK "stosb: faults taken", [pf_count], 1
        CHECK "stosb: error code (W)", [pf_err], PF_W
        CHECK "stosb: CR2", [pf_cr2], LIN(0xF000)
        CHECK "stosb: pushed EIP", [pf_eip], .i5
        CHECK "stosb: ECX at the fault", [pf_ecx], 7
        CHECK "stosb: EDI at the fault", [pf_edi], LIN(0xF000)
        CHECK "stosb: final ECX", [res_ecx], 0
        CHECK "stosb: final EDI", [res_edi], LIN(0xF007)
        CHECK "stosb: bytes F000-F003", [LIN(0xF000)], 0x5A5A5A5A
        CHECK "stosb: bytes F004-F007 (last three and one untouched)", [LIN(0xF004)], 0x5E5A5A5A

        ; ---- 6: two faults in one instruction ----
        call reset_pf
        mov esi, LIN(0x0000)
        mov edi, LIN(0x10000)
        mov ecx, 0x800
.i6:    rep movsd
        call save_result
        CHECK "two faults: faults taken", [pf_count], 2
        CHECK "two faults: second CR2", [pf_cr2], LIN(0x11000)
        CHECK "two faults: ECX at the second fault", [pf_ecx], 0x400
        CHECK "two faults: EDI at the second fault", [pf_edi], LIN(0x11000)
        CHECK "two faults: pushed EIP", [pf_eip], .i6
        CHECK "two faults: final ECX", [res_ecx], 0
        CHECK "two faults: final EDI", [res_edi], LIN(0x12000)
        CHECK "two faults: last dword", [LIN(0x11FFC)], 0x5EED0000 + 0x1FFC / 4

        ; ---- 7: from ring 3 (the handler IRETs to ring 3) ----
        mov edi, PHY(0x5000)
        mov ecx, 0x400
        mov eax, 0xCCCCCCCC
        rep stosd
        mov dword [PTE(LIN(0x5000))], 0
        invlpg [LIN(0x5000)]
        call reset_pf
        RING3_BEGIN
        cld
        mov esi, LIN(0x0FF0)
        mov edi, LIN(0x4FF0)
        mov ecx, 0x20
.i7:    rep movsd
        RING3_END
        CHECK "ring 3: back through INT 0x30", [exc_vector], VEC_RING0
        CHECK "ring 3: faults taken", [pf_count], 1
        CHECK "ring 3: error code (W, U)", [pf_err], PF_W | PF_U
        CHECK "ring 3: pushed CS", [pf_cs], SEL_UCODE3
        CHECK "ring 3: ECX at the fault", [pf_ecx], 0x1C
        CHECK "ring 3: final ECX", [exc_ecx], 0
        CHECK "ring 3: final ESI", [exc_esi], LIN(0x1070)
        CHECK "ring 3: final EDI", [exc_edi], LIN(0x5070)
        CHECK "ring 3: dword copied into the mapped page", [LIN(0x506C)], 0x5EED0000 + 0x106C / 4
        PAGING_OFF
        ret

reset_pf:
        mov dword [pf_count], 0
        mov dword [pf_cr2], 0
        mov dword [pf_ecx], 0xFFFFFFFF
        mov dword [pf_straddle], 0
        ret

save_result:
        mov [res_ecx], ecx
        mov [res_esi], esi
        mov [res_edi], edi
        ret

fill_cc_2000_4000:
        mov edi, PHY(0x2000)
        mov ecx, 0x800
        mov eax, 0xCCCCCCCC
        rep stosd
        ret

; #PF handler: record the state, map the missing page (LIN(x) -> PHY(x)), IRET to retry
pf_fix:
        pushad                          ; EDI ESI EBP ESP EBX EDX ECX EAX, then error code
        push ds                         ; DS=0x23 from ring 3 must come back (an IRET to ring 3
        mov ax, SEL_KDATA               ; would null a DPL 0 DS)
        mov ds, ax
        mov eax, cr2
        cmp eax, LIN(0)
        jb .bad
        cmp eax, LIN(0x12000)
        jae .bad
        cmp dword [pf_count], 4
        jae .bad
        inc dword [pf_count]
        mov [pf_cr2], eax
        mov ebx, [esp + 4 + 32]
        mov [pf_err], ebx
        mov ebx, [esp + 4 + 36]
        mov [pf_eip], ebx
        mov ebx, [esp + 4 + 40]
        mov [pf_cs], ebx
        mov ebx, [esp + 4 + 24]
        mov [pf_ecx], ebx
        mov ebx, [esp + 4 + 4]
        mov [pf_esi], ebx
        mov ebx, [esp + 4 + 0]
        mov [pf_edi], ebx
        cmp dword [pf_straddle], 1
        jne .map
        movzx ebx, word [LIN(0xCFFE)]
        mov [pf_straddle], ebx
.map:   and eax, 0xFFFFF000
        mov ebx, eax
        sub ebx, LIN(0) - PHY(0)
        or ebx, PG_P | PG_RW | PG_US
        mov ecx, eax
        shr ecx, 12
        mov [PT_BASE + ecx * 4], ebx
        invlpg [eax]
        pop ds
        popad
        add esp, 4
        iretd
.bad:   pop ds
        popad                           ; not ours: report it through the recording handler
        jmp exc_stubs + 14 * STUB_SIZE

%include "end.inc"
