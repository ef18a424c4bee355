#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes small synthetic PE/COFF files (good ones and malformed "bad-*" ones) into
# the directory given as the only argument. Run by regenerate.sh; the files are
# committed, together with the digests pesign computed for them.
import struct
import sys
from pathlib import Path

SECTION_HEADER = struct.Struct('<8sIIIIIIHHI')


def build(sections, *, pe32=False, machine=0x8664, sa=0x1000, fa=0x200, soh=0x400,
          n_dirs=16, trailing=b'', symtab=None, lfanew=0x80, extra_dirs=None,
          size_of_image=None, n_sections=None, opt_size=None, magic=None):
    """sections: list of (name, data, va, raw_offset, raw_size, virtual_size, chars)."""
    dos = bytearray(lfanew)
    dos[0:2] = b'MZ'
    struct.pack_into('<I', dos, 0x3c, lfanew)
    fixed = 96 if pe32 else 112
    osize = opt_size if opt_size is not None else fixed + 8 * n_dirs
    last_end = max([va + max(vs, rs) for (_, _, va, _, rs, vs, _) in sections] or [soh])
    soi = size_of_image if size_of_image is not None else (last_end + sa - 1) // sa * sa
    opt = bytearray(max(osize, fixed + 8 * 16))
    struct.pack_into('<H', opt, 0, magic if magic is not None else (0x10b if pe32 else 0x20b))
    struct.pack_into('<I', opt, 16, sections[0][2] if sections else 0)  # entry point
    if pe32:
        struct.pack_into('<I', opt, 28, 0x400000)
    else:
        struct.pack_into('<Q', opt, 24, 0x140000000)
    struct.pack_into('<IIIIII', opt, 32, sa, fa, 0, 0, 0, 0)
    struct.pack_into('<III', opt, 56, soi, soh, 0x1234)  # SizeOfImage, SizeOfHeaders, CheckSum
    struct.pack_into('<HH', opt, 68, 10, 0x160)  # EFI application, NX|DYNAMIC_BASE|HIGH_ENTROPY
    struct.pack_into('<I', opt, 92 if pe32 else 108, n_dirs)
    dirs = 96 if pe32 else 112
    for i, (addr, size) in (extra_dirs or {}).items():
        struct.pack_into('<II', opt, dirs + 8 * i, addr, size)
    opt = opt[:osize]
    sym_ptr, n_syms = (0, 0)
    # Sections whose raw data lies far outside the file (bad-* cases) do not grow it.
    body_end = max([ro + rs for (_, _, _, ro, rs, _, _) in sections if ro + rs < 1 << 20]
                   or [soh])
    body_end = max(body_end, soh)
    if symtab is not None:
        sym_ptr, n_syms = body_end + len(trailing), symtab
    coff = struct.pack('<4sHHIIIHH', b'PE\0\0', machine,
                       len(sections) if n_sections is None else n_sections, 0, sym_ptr,
                       n_syms, osize, 0x22e)
    hdr = bytearray(dos + coff + opt)
    for name, data, va, ro, rs, vs, chars in sections:
        hdr += SECTION_HEADER.pack(name.encode(), vs, va, rs, ro, 0, 0, 0, 0, chars)
    out = bytearray(max(soh, len(hdr), body_end))
    out[:len(hdr)] = hdr
    for name, data, va, ro, rs, vs, chars in sections:
        out[ro:ro + len(data)] = data
    out += trailing
    if symtab is not None:
        out += bytes(range(18)) * n_syms
        strtab = b'\0\0\0\0.exit\0label1\0'
        out += struct.pack('<I', len(strtab)) + strtab[4:]
    return bytes(out)


def text(n, seed):
    return bytes((i * 7 + seed) & 0xff for i in range(n))


CODE, DATA = 0x60000020, 0xc0000040


def two_sections(**kw):
    return build([('.text', text(0x300, 1), 0x1000, 0x400, 0x400, 0x300, CODE),
                  ('.data', text(0x123, 2), 0x2000, 0x800, 0x200, 0x123, DATA)], **kw)


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    files['two-sections.pe'] = two_sections()
    files['pe32.pe'] = build([('.text', text(0x200, 3), 0x1000, 0x400, 0x200, 0x200, CODE)],
                             pe32=True, machine=0x14c)
    files['trailing.pe'] = two_sections(trailing=text(101, 4))
    files['symtab.pe'] = two_sections(symtab=3)
    # A gap between the headers and the first section: the trailing-data rule
    # counts from SizeOfHeaders + sum(SizeOfRawData), so part of .data is hashed twice.
    files['gap.pe'] = build([('.text', text(0x200, 5), 0x1000, 0x600, 0x200, 0x200, CODE),
                             ('.data', text(0x200, 6), 0x2000, 0x800, 0x200, 0x200, DATA)])
    files['few-dirs.pe'] = two_sections(n_dirs=4)
    files['no-sections.pe'] = build([])
    # A stub-like image with small alignment (Debian 12's stub: 0x200 / 0x200).
    files['small-align.pe'] = build(
        [('.text', text(0x1f0, 7), 0x400, 0x400, 0x200, 0x1f0, CODE),
         ('.sbat', b'sbat,1,SBAT Version,sbat,1,x\n', 0x600, 0x600, 0x200, 0x1d, DATA)],
        sa=0x200, fa=0x200)

    bad = {}
    good = files['two-sections.pe']
    bad['bad-empty.pe'] = b''
    bad['bad-dos-only.pe'] = good[:0x40]
    bad['bad-truncated-coff.pe'] = good[:0x90]
    bad['bad-truncated-optional.pe'] = good[:0x100]
    bad['bad-truncated-section-table.pe'] = good[:0x1a0]
    bad['bad-truncated-sections.pe'] = good[:0x900]
    bad['bad-no-mz.pe'] = b'ZM' + good[2:]
    bad['bad-no-pe.pe'] = good[:0x80] + b'PX' + good[0x82:]
    bad['bad-lfanew.pe'] = good[:0x3c] + struct.pack('<I', 0xfffffff0) + good[0x40:]
    bad['bad-magic.pe'] = two_sections(magic=0x107)
    bad['bad-opt-size.pe'] = two_sections(opt_size=0x40)
    bad['bad-ndirs.pe'] = two_sections(n_dirs=0x10000000, opt_size=112 + 8 * 16)
    bad['bad-nsections.pe'] = two_sections(n_sections=0xffff)
    bad['bad-nsections-headers.pe'] = two_sections(n_sections=40)
    bad['bad-file-align.pe'] = two_sections(fa=0x300)
    bad['bad-section-align.pe'] = two_sections(sa=0x100)
    # SizeOfImage given: derived from the huge SizeOfRawData it would exceed its cap.
    bad['bad-section-outside.pe'] = build(
        [('.text', text(0x200, 1), 0x1000, 0x400, 0x200, 0x200, CODE),
         ('.data', b'', 0x2000, 0x600, 0x7ffffe00, 0x200, DATA)], size_of_image=0x3000)
    bad['bad-raw-overflow.pe'] = build(
        [('.text', text(0x200, 1), 0x1000, 0x400, 0x200, 0x200, CODE),
         ('.data', b'', 0x2000, 0xfffffe00, 0x400, 0x200, DATA)])
    bad['bad-overlap-raw.pe'] = build(
        [('.text', text(0x400, 1), 0x1000, 0x400, 0x400, 0x400, CODE),
         ('.data', text(0x200, 2), 0x2000, 0x600, 0x200, 0x200, DATA)])
    bad['bad-overlap-va.pe'] = build(
        [('.text', text(0x200, 1), 0x1000, 0x400, 0x200, 0x1800, CODE),
         ('.data', text(0x200, 2), 0x2000, 0x600, 0x200, 0x200, DATA)])
    bad['bad-raw-in-headers.pe'] = build(
        [('.text', text(0x200, 1), 0x1000, 0x200, 0x200, 0x200, CODE)])
    bad['bad-size-of-image.pe'] = two_sections(size_of_image=0x2000)
    # More memory than any loader maps (the cap is 1 GiB): -E2BIG.
    bad['bad-size-of-image-cap.pe'] = two_sections(size_of_image=0x40001000)
    bad['bad-cert-outside.pe'] = two_sections(extra_dirs={4: (0xa00, 0x1000)})
    bad['bad-cert-overflow.pe'] = two_sections(extra_dirs={4: (0xfffffff8, 0x10)})
    bad['bad-cert-misaligned.pe'] = two_sections(trailing=bytes(0x24),
                                                 extra_dirs={4: (0xa04, 0x20)})
    bad['bad-cert-in-sections.pe'] = two_sections(extra_dirs={4: (0x800, 0x200)})
    # A table whose one entry claims more bytes than the table has.
    entry = struct.pack('<IHH', 0x100, 0x200, 2) + bytes(0x18)
    bad['bad-cert-entry-length.pe'] = two_sections(trailing=entry,
                                                   extra_dirs={4: (0xa00, 0x20)})
    for name, data in {**files, **bad}.items():
        (out / name).write_bytes(data)


if __name__ == '__main__':
    main()
