; pg_global: global pages (SDM vol. 3, 4.10.2.4 "Global Pages", 4.10.4.1).
; Proves: with CR4.PGE=1, a translation of a page whose PTE has G=1 survives a MOV to CR3
; while a non-global one does not; INVLPG removes a global translation; a change of CR4.PGE
; removes global translations; with CR4.PGE=0 the G bit means nothing and MOV to CR3 flushes
; everything. (The SDM allows a TLB to drop any entry at any time; these checks rely on the
; TLB keeping a global entry that the program has just used, which DESIGN.md commits bt86 to.
; QEMU's TCG flushes global entries on MOV to CR3 and fails the "survives" checks.)
%define TEST_NAME "pg_global"
%include "guest.inc"

L_G     equ TEST_LIN                    ; global
L_NG    equ TEST_LIN + 0x1000           ; not global
OLD1    equ SCRATCH
OLD2    equ SCRATCH + 0x1000
NEW1    equ SCRATCH + 0x2000
NEW2    equ SCRATCH + 0x3000

test_main:
        mov dword [OLD1], 0x01D00001
        mov dword [OLD2], 0x01D00002
        mov dword [NEW1], 0x0E400001
        mov dword [NEW2], 0x0E400002
        call paging_init
        mov eax, cr4
        or eax, CR4_PGE
        mov cr4, eax
        PAGING_ON

        ; round 1: MOV to CR3
        call map_old
        mov eax, [L_G]
        CHECK "global page, first read", eax, 0x01D00001
        mov eax, [L_NG]
        CHECK "non-global page, first read", eax, 0x01D00002
        call map_new_no_flush
        FLUSH_TLB
        mov eax, [L_G]
        CHECK "after PTE change + MOV CR3: global translation survives", eax, 0x01D00001
        mov eax, [L_NG]
        CHECK "after PTE change + MOV CR3: non-global translation refetched", eax, 0x0E400002
        invlpg [L_G]
        mov eax, [L_G]
        CHECK "INVLPG removes the global translation", eax, 0x0E400001

        ; round 2: toggling CR4.PGE flushes global entries
        call map_old
        mov eax, [L_G]
        CHECK "round 2: global page read", eax, 0x01D00001
        call map_new_no_flush
        FLUSH_TLB
        mov eax, [L_G]
        CHECK "round 2: survives MOV CR3 again", eax, 0x01D00001
        mov eax, cr4
        and eax, ~CR4_PGE
        mov cr4, eax
        or eax, CR4_PGE
        mov cr4, eax
        mov eax, [L_G]
        CHECK "CR4.PGE toggled: global translation gone", eax, 0x0E400001

        ; round 3: CR4.PGE=0, G ignored
        mov eax, cr4
        and eax, ~CR4_PGE
        mov cr4, eax
        call map_old
        mov eax, [L_G]
        CHECK "PGE=0: page with G read", eax, 0x01D00001
        call map_new_no_flush
        FLUSH_TLB
        mov eax, [L_G]
        CHECK "PGE=0: MOV CR3 flushes the page with G too", eax, 0x0E400001

        ; round 4: reloading the same CR3 value is a flush of non-global translations too
        mov eax, cr4
        or eax, CR4_PGE
        mov cr4, eax
        call map_old
        mov eax, [L_G]
        call map_new_no_flush
        mov eax, cr3
        mov cr3, eax
        mov eax, [L_NG]
        CHECK "round 4: non-global refetched after reload of the same CR3", eax, 0x0E400002
        mov eax, [L_G]
        CHECK "round 4: global kept after reload of the same CR3", eax, 0x01D00001
        PAGING_OFF
        ret

; global L_G -> OLD1, non-global L_NG -> OLD2, and drop any cached translation of them
map_old:
        mov dword [PTE(L_G)], OLD1 | PG_P | PG_RW | PG_G
        mov dword [PTE(L_NG)], OLD2 | PG_P | PG_RW
        invlpg [L_G]
        invlpg [L_NG]
        ret
; point them at NEW1/NEW2 in memory only
map_new_no_flush:
        mov dword [PTE(L_G)], NEW1 | PG_P | PG_RW | PG_G
        mov dword [PTE(L_NG)], NEW2 | PG_P | PG_RW
        ret

%include "end.inc"
