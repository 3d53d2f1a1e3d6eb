#!/usr/bin/env python3
"""Copy the shared libraries of NVIDIA's PyPI wheels (nvidia/*/lib/*.so*) into DEST/usr/local/cuda/lib64
and each wheel's licence into DEST/usr/share/doc/<name>/ (dev/images/cuda.ts builds the CUDA 13
image's library layer with it). Headers, static libraries and Python files stay out.

Usage: extract-wheel-libs.py DEST WHEEL...   (prints one line per library)"""
import os
import sys
import zipfile

dest, wheels = sys.argv[1], sys.argv[2:]
if not wheels:
    sys.exit("extract-wheel-libs.py: no wheels given")
lib = os.path.join(dest, "usr/local/cuda/lib64")
os.makedirs(lib, exist_ok=True)
for wheel in sorted(wheels):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        fields = dict(l.split(": ", 1) for l in z.read(meta).decode().splitlines() if ": " in l)
        libs = [n for n in names if n.startswith("nvidia/") and "/lib/" in n and ".so" in n.rsplit("/", 1)[-1]]
        if not libs:
            sys.exit(f"extract-wheel-libs.py: {wheel} holds no nvidia/*/lib/*.so*")
        for n in sorted(libs):
            target = os.path.join(lib, n.rsplit("/", 1)[-1])
            if os.path.exists(target):
                sys.exit(f"extract-wheel-libs.py: {target} comes from two wheels")
            with open(target, "wb") as f:
                f.write(z.read(n))
            os.chmod(target, 0o644)
            print(f"{fields['Name']} {fields['Version']}: {os.path.basename(target)}")
        doc = os.path.join(dest, "usr/share/doc", fields["Name"])
        os.makedirs(doc, exist_ok=True)
        for n in names:
            if ".dist-info/licenses/" in n or n.endswith(".dist-info/LICENSE") or n.endswith(".dist-info/License.txt"):
                with open(os.path.join(doc, n.rsplit("/", 1)[-1]), "wb") as f:
                    f.write(z.read(n))
