#!/usr/bin/python3
# Writes the seed corpus of fuzz-varstore: small OVMF-style variable stores
# (8 KiB, 512-byte blocks; the layout of SPEC.md §3.5 scaled down), valid ones
# and one of each kind of damage. Run from anywhere; rewrites its own files in
# corpus/varstore/. The other files there were found by libFuzzer (fuzz-varstore,
# -Dfuzz=true) and picked one per distinct refusal: leave them.
import os, struct, uuid, zlib

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'varstore')
FV, BLK, STORE, FTW = 0x2000, 0x200, 0x1000 - 0x48, 0x1200
g = lambda s: uuid.UUID(s).bytes_le
GLOBAL, IMGSEC = '8be4df61-93ca-11d2-aa0d-00e098032b8c', 'd719b2cb-3d3a-4596-a3bc-dad00e67656f'

def fv_checksum(b):
    b[50:52] = b'\0\0'
    s = sum(struct.unpack_from('<36H', b, 0)) & 0xffff
    b[50:52] = struct.pack('<H', (-s) & 0xffff)

def template():
    b = bytearray(b'\xff' * FV)
    b[0:0x48] = bytes(0x48)
    b[16:32] = g('fff12b8d-7696-4c8b-a985-2747075b4f50')
    struct.pack_into('<Q4sIHHHBB', b, 32, FV, b'_FVH', 0x0004feff, 72, 0, 0, 0, 2)
    struct.pack_into('<IIII', b, 56, FV // BLK, BLK, 0, 0)
    fv_checksum(b)
    b[0x48:0x58] = g('aaf32c78-947b-439a-a180-2e144ec37792')
    struct.pack_into('<IBBHI', b, 0x58, STORE, 0x5a, 0xfe, 0, 0)
    h = bytearray(g('9e58292b-7c68-497d-a0ce-6500fd9f1b95') + b'\xff' * 4 + b'\xff\xff\xff\xff'
                  + struct.pack('<Q', BLK - 32))
    crc = zlib.crc32(bytes(h))
    h[16:20] = struct.pack('<I', crc)
    h[20] = 0xfe
    b[FTW:FTW + 32] = h
    return b

def var(b, pos, name, vendor, data, state=0x3f, attr=7, ts=bytes(16)):
    n = (name + '\0').encode('utf-16le')
    hdr = struct.pack('<HBBIQ', 0x55aa, state, 0, attr, 0) + ts + struct.pack('<III', 0, len(n), len(data)) + g(vendor)
    rec = hdr + n + data
    b[pos:pos + len(rec)] = rec
    return (pos + len(rec) + 3) & ~3

def esl(der):
    return g('a5c059a1-94e4-4aa7-87b5-ab155c2bf072') + struct.pack('<III', 28 + 16 + len(der), 0, 16 + len(der)) + g('11111111-2222-3333-4444-555555555555') + der

seeds = {}
seeds['empty'] = template()
b = template(); p = 100
p = var(b, p, 'BootOrder', GLOBAL, b'\1\0', state=0x3c)
p = var(b, p, 'BootOrder', GLOBAL, b'\2\0')
p = var(b, p, 'Timeout', GLOBAL, b'\5\0', state=0x3e)
p = var(b, p, 'Lang', GLOBAL, b'eng', state=0x7f)
pvars = p
seeds['variables'] = b
b = template(); p = 100
ts = struct.pack('<HBBBBBBIhBB', 2026, 11, 29, 0, 0, 0, 0, 0, 0, 0, 0)
p = var(b, p, 'PK', GLOBAL, esl(b'\x30\x03\x01\x02\x03'), attr=0x27, ts=ts)
p = var(b, p, 'KEK', GLOBAL, esl(b'\x30\x01\xaa'), attr=0x27, ts=ts)
p = var(b, p, 'db', IMGSEC, esl(b'\x30\x01\xdb') + esl(b'\x30\x02\xdb\xdb'), attr=0x27, ts=ts)
p = var(b, p, 'dbx', IMGSEC, g('c1c41626-504c-4092-aca9-41f936934328') + struct.pack('<III', 28 + 48, 0, 48) + bytes(48), attr=0x27, ts=ts)
seeds['enrolled'] = b
b = bytearray(seeds['enrolled']); b[100 + 40:100 + 44] = struct.pack('<I', 0x10000); seeds['bad-var-past-end'] = b
b = bytearray(seeds['enrolled']); b[100 + 60 + 4] = ord('x'); seeds['bad-name-no-nul'] = b
b = bytearray(seeds['enrolled']); b[100 + 60 + 6 + 16:100 + 60 + 6 + 20] = b'\xff\xff\0\0'; seeds['bad-esl-size'] = b
b = bytearray(seeds['variables']); var(b, pvars, "BootOrder", GLOBAL, b"\3\0"); seeds['bad-duplicate'] = b
b = template(); b[50] ^= 1; seeds['bad-fv-checksum'] = b
b = template(); b[FTW + 30] = 1; seeds['bad-ftw-crc'] = b
b = template(); b[FTW + 40] = 0; seeds['ftw-pending'] = b
b = template(); b[0x900] = 0; seeds['bad-free-space'] = b
b = template(); b[0x48:0x58] = g('ddcf3616-3275-4164-98b6-fe85707ffe7d'); seeds['plain-store'] = b
seeds['bad-truncated'] = template()[:0x100]
# edk2 mid-update: the new copy added, the old one in deleted transition (valid);
# two copies in transition are not (enrolling over it once wrote both as added).
b = template(); p = 100
p = var(b, p, 'Timeout', GLOBAL, b'\5\0', state=0x3e)
q = var(b, p, 'Timeout', GLOBAL, b'\6\0')
seeds['update-in-progress'] = b
b = template(); var(b, p, 'Timeout', GLOBAL, b'\7\0', state=0x3e)
b[100:p] = seeds['update-in-progress'][100:p]
seeds['bad-duplicate-in-transition'] = b
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(bytes(data))
