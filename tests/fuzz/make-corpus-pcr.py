#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus of fuzz-pcr: tiny UKIs (a few KiB; the PE writer of
# tests/vectors/pe/make-pe.py) for each systemd-stub section order, and one of
# each kind of UKI that PCR 11 prediction refuses (bad-*). Run from anywhere;
# rewrites its own files in corpus/pcr/. The found-* files there were found by
# libFuzzer (fuzz-pcr, -Dfuzz=true): leave them.
import importlib.util
import os

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    'make_pe', os.path.join(here, '..', 'vectors', 'pe', 'make-pe.py'))
make_pe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_pe)
out = os.path.join(here, 'corpus', 'pcr')

DATA = 0x40000040  # initialized data, readable


def magic(version):
    return b'#### LoaderInfo: systemd-stub %s ####\0' % version.encode()


def uki(sections, *, sdmagic='257.13-1~deb13u1', vsizes=None, **kw):
    """sections: (name, bytes); laid out at FileAlignment 0x40, SectionAlignment 0x200
    (small, like an aligned stub's) after a .text standing in for the stub's code."""
    if sdmagic is not None:
        sections = [('.sdmagic', magic(sdmagic))] + sections
    sections = [('.text', make_pe.text(0x40, 1))] + sections
    table, va, ro = [], 0x400, 0x400
    for name, data in sections:
        rs = (len(data) + 0x3f) // 0x40 * 0x40
        vs = (vsizes or {}).get(name, len(data))
        chars = 0x60000020 if name == '.text' else DATA
        table.append((name, data, va, ro, rs, vs, chars))
        va += (max(vs, rs) + 0x1ff) // 0x200 * 0x200
        ro += rs
    return make_pe.build(table, sa=0x200, fa=0x40, **kw)


def main():
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if not f.startswith('found-'):
            os.unlink(os.path.join(out, f))
    osrel = b'ID=slate\nVERSION_ID=1\n'
    base = [('.linux', b'MZ kernel'), ('.osrel', osrel), ('.cmdline', b'usrhash=00 quiet'),
            ('.initrd', b'070701 initrd')]
    seeds = {
        # Every section each version knows, in file order unlike the stub's.
        'uki-257.uki': uki([('.pcrsig', b'{}'), ('.sbat', b'sbat,1\n'), ('.uname', b'6.12.0')]
                           + base + [('.ucode', b'ucode'), ('.pcrpkey', b'-----BEGIN')]),
        'uki-256.uki': uki(base + [('.ucode', b'ucode'), ('.splash', b'BM')],
                           sdmagic='256.7-1'),
        'uki-254.uki': uki(base + [('.uname', b'6.1.0'), ('.sbat', b'sbat,1\n')],
                           sdmagic='254.5'),
        'uki-252.uki': uki(base + [('.splash', b'BM'), ('.dtb', b'\xd0\x0d\xfe\xed')],
                           sdmagic='252.39-1~deb12u1'),
        # No .sdmagic: only a forced version predicts.
        'uki-no-sdmagic.uki': uki(base, sdmagic=None),
        # VirtualSize past SizeOfRawData: the loader's zeroes are measured.
        'uki-zero-fill.uki': uki(base, vsizes={'.initrd': 0x4000}),
        # Only 257 knows profiles (and refuses them); older stubs ignore the section.
        'uki-profile.uki': uki(base + [('.profile', b'ID=a')]),
        'bad-dtbauto.uki': uki(base + [('.dtbauto', b'\xd0\x0d\xfe\xed')]),
        'bad-prefix.uki': uki(base + [('.linuxx', b'x')]),
        'bad-duplicate.uki': uki(base + [('.cmdline', b'again')]),
        'bad-no-linux.uki': uki(base[1:]),
        'bad-empty-linux.uki': uki(base, vsizes={'.linux': 0}),
        'bad-stub-version.uki': uki(base, sdmagic='x257'),
        'bad-stub-old.uki': uki(base, sdmagic='251.4'),
        # SizeOfImage over the 1 GiB cap, with a section filling it.
        'bad-size-of-image.uki': uki(base, vsizes={'.initrd': 0x7ff00000},
                                     size_of_image=0x80000000),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
