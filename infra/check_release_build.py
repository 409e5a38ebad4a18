"""Checks what `sam build` made for a deploy, and zips it as a deploy would.

    .venv-sam/bin/python infra/check_release_build.py TEMPLATE BUILD_DIR ZIP_DIR MAX_ZIP_BYTES

For every function of TEMPLATE built by cargo-lambda (`BuildMethod:
rust-cargolambda`): BUILD_DIR/<function>/bootstrap must exist and be a 64-bit
little-endian ELF executable for aarch64 (arm64, as the functions declare),
and the zip of BUILD_DIR/<function> (what `sam deploy` uploads) must be at
most MAX_ZIP_BYTES. Every crate under functions/ must be built by one of
them. Prints each function's sizes; exits 1 naming every problem.
"""

import os
import stat
import sys
import zipfile
from pathlib import Path

from samcli.yamlhelper import yaml_parse

ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
ET_EXEC, ET_DYN = 2, 3
EM_AARCH64 = 183


def rust_functions(template):
    """(logical id, binary) of every function cargo-lambda builds."""
    found = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        metadata = resource.get("Metadata") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and metadata.get("BuildMethod") == "rust-cargolambda":
            binary = (metadata.get("BuildProperties") or {}).get("Binary", logical_id)
            found.append((logical_id, binary))
    return found


def elf_problem(path):
    """None if `path` is an aarch64 ELF executable, else what it is instead."""
    with open(path, "rb") as f:
        header = f.read(20)
    if len(header) < 20 or header[:4] != ELF_MAGIC:
        return "not an ELF file"
    if header[4] != ELFCLASS64 or header[5] != ELFDATA2LSB:
        return "not a 64-bit little-endian ELF file"
    e_type = int.from_bytes(header[16:18], "little")
    e_machine = int.from_bytes(header[18:20], "little")
    if e_machine != EM_AARCH64:
        return f"an ELF file for machine {e_machine}, not aarch64 ({EM_AARCH64})"
    if e_type not in (ET_EXEC, ET_DYN):
        return f"an ELF file of type {e_type}, not an executable"
    return None


def zip_dir(source, target):
    """Zips `source` as `sam package` does: deflated, with file modes kept."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(source)))
            info.external_attr = (stat.S_IMODE(path.stat().st_mode) | stat.S_IFREG) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.date_time = (1980, 1, 1, 0, 0, 0)
            z.writestr(info, path.read_bytes())


def mb(size):
    return f"{size / 2**20:.2f} MB"


def main(argv):
    if len(argv) != 5:
        print("usage: check_release_build.py TEMPLATE BUILD_DIR ZIP_DIR MAX_ZIP_BYTES", file=sys.stderr)
        return 2
    template_path, build_dir, zip_dir_path, max_zip = argv[1], Path(argv[2]), Path(argv[3]), int(argv[4])
    with open(template_path, encoding="utf-8") as f:
        functions = rust_functions(yaml_parse(f.read()))
    problems = []

    crates = sorted(p.name for p in Path("functions").iterdir() if (p / "Cargo.toml").exists())
    built = {binary for _, binary in functions}
    problems += [f"functions/{c} is built by no function of {template_path}" for c in crates if c not in built]

    zip_dir_path.mkdir(parents=True, exist_ok=True)
    print(f"{'function':<20} {'binary':<10} {'bootstrap':>10} {'zip':>10}")
    total = 0
    for logical_id, binary in functions:
        bootstrap = build_dir / logical_id / "bootstrap"
        if not bootstrap.is_file():
            problems.append(f"{logical_id}: no bootstrap in {bootstrap.parent}")
            print(f"{logical_id:<20} {binary:<10} {'missing':>10}")
            continue
        what = elf_problem(bootstrap)
        if what:
            problems.append(f"{logical_id}: {bootstrap} is {what}")
        if not os.access(bootstrap, os.X_OK):
            problems.append(f"{logical_id}: {bootstrap} is not executable")
        target = zip_dir_path / f"{logical_id}.zip"
        zip_dir(bootstrap.parent, target)
        size = target.stat().st_size
        total += size
        if size > max_zip:
            problems.append(f"{logical_id}: its zip is {mb(size)} ({size} bytes), over the {mb(max_zip)} limit")
        print(f"{logical_id:<20} {binary:<10} {mb(bootstrap.stat().st_size):>10} {mb(size):>10}")
    print(f"{'total':<31} {'':>10} {mb(total):>10}")
    print(f"every bootstrap checked for: ELF, 64-bit, aarch64; zips in {zip_dir_path}, limit {mb(max_zip)} each")

    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
