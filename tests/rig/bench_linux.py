"""make bench's Linux figures (issue #5), for tests/rig/bench (`import bench_linux`).

Boots Debian's kernel and the busybox initramfs of tests/rig/make-linux-guest
twice in Bochs, side by side (two cores), one CPU each, with the rig's Bochs
settings (tests/rig/emulib.py: 25 M instructions a second, so the TSC counts
retired instructions):

 1. under Tessera (a configuration holding only a linux partition, debug log),
    until "tessera: all partitions stopped";
 2. directly by OVMF: a disk without \\EFI\\BOOT\\BOOTX64.EFI, so OVMF falls
    back to its UEFI shell, which runs \\startup.nsh: the kernel's EFI stub
    with the same command line; until /init's last marker.

Both kernels run with the same command line, `quiet` included. /init prints
the kernel log's "Run /init" line (the kernel's clock when it started /init:
printk time, which starts near 0 when the kernel sets up its TSC clock, after
decompression) and the TSC frequency the kernel converts with ("tsc:
Detected", "tsc: Refined"); that time converted back to TSC ticks is the
figure compared. From Tessera's debug log come the VM exits by reason
(counted up to the partition's power-off) and its own boot time to the
first VM entry, less the ticks the firmware spent reading files.

    run() -> [(label, value, goal, met)]   met: "yes", "NO" or "-"

Environment: BENCH_LINUX_ESP, the Tessera boot tree (default build/esp), e.g.
one built in a clone.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading

import emulib

ROOT = emulib.ROOT
ESP = os.environ.get("BENCH_LINUX_ESP", os.path.join(ROOT, "build", "esp"))
LINUX = os.path.join(ROOT, "build", "linux")
MAKE_LINUX_GUEST = os.path.join(ROOT, "tests", "rig", "make-linux-guest")
TESSERA_RUN_DIR = os.path.join(ROOT, "build", "bench-linux-tessera")
DIRECT_RUN_DIR = os.path.join(ROOT, "build", "bench-linux-direct")
SKIP = 77
# Wall-clock limit of each boot: either takes about 150-200 s here.
TIMEOUT = 1200
CMDLINE = "console=ttyS0 quiet panic=-1"
# Bochs RAM: Tessera and the 256 MiB partition; for the direct boot the
# partition's size, so that both kernels set up about as much memory.
TESSERA_MEMORY = 512
DIRECT_MEMORY = 256
# Used when the kernel logged no TSC frequency: the rig's Bochs runs
# 25 M instructions per second (emulib.write_bochsrc's ips).
BOCHS_TSC_HZ = 25e6
EXIT_GOAL = 5000
RATIO_GOAL = 1.05

CONF = f"""# Written by tests/rig/bench_linux.py: the Linux boot of make bench.
[tessera]
loglevel = debug

[partition linux]
memory = 256M
kernel = \\tessera\\vmlinuz
initrd = \\tessera\\initrd.img
cmdline = {CMDLINE}
on_poweroff = stop
on_reboot = stop
"""
# Run by the UEFI shell at its start (from the first file system it maps).
STARTUP_NSH = f"fs0:\\vmlinuz initrd=\\initrd.img {CMDLINE}\r\n"

ALL_STOPPED = r"^tessera: all partitions stopped"
INIT_DONE = r"linux-guest: init done, powering off"
# The direct run ends at /init's last marker, or at a panic (panic=-1 would
# reboot into the shell, which would boot the kernel again).
DIRECT_UNTIL = INIT_DONE + r"|Kernel panic"
# /init's copies of kernel log lines (make-linux-guest's MARK_DMESG).
DMESG = r"linux-guest: dmesg: \[\s*([0-9]+\.[0-9]+)\] "
RUN_INIT = re.compile(DMESG + r"Run /init")
TSC_DETECTED = re.compile(DMESG + r"tsc: Detected ([0-9.]+) MHz")
TSC_REFINED = re.compile(DMESG + r"tsc: Refined TSC clocksource calibration: ([0-9.]+) MHz")
EXITS = re.compile(r"^tessera: bench: partition=linux exits reason=(\S+) count=(\d+)")
FIRST_ENTRY = re.compile(r"^tessera: boot took (\d+) TSC ticks until the first VM entry")
IMAGE_LOAD = re.compile(r"^tessera: bench: entry_tsc=\d+ image_load_ticks=(\d+)")

LABEL_TESSERA = "Linux: kernel clock at /init under Tessera (ticks)"
LABEL_DIRECT = "Linux: kernel clock at /init booted by OVMF directly (ticks)"
LABEL_RATIO = "Linux: ratio Tessera/direct"
LABEL_EXITS = "Linux boot: VM exits (quiet)"
LABEL_ENTRY = "Tessera entry to kernel's first instruction, less file loading (ticks)"


class Unavailable(Exception):
    """Bochs or the Linux files cannot be had here: the figures are skipped."""


def linux_files() -> list[str]:
    """Builds (if needed) and returns the kernel and initramfs; Unavailable when
    make-linux-guest says the packages cannot be had (exit status 77)."""
    p = subprocess.run([MAKE_LINUX_GUEST, LINUX], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if p.returncode == SKIP:
        raise Unavailable(p.stdout.strip() or "make-linux-guest cannot get the kernel")
    if p.returncode != 0:
        raise RuntimeError(f"make-linux-guest failed (status {p.returncode}): {p.stdout.strip()}")
    return [os.path.join(LINUX, "vmlinuz"), os.path.join(LINUX, "initrd.img")]


def fresh_run_dir(path: str) -> str:
    """The run directory, emptied of an earlier run's files."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def boot_tessera(files: list[str]) -> emulib.Result:
    """Linux alone in a partition under Tessera, until every partition stopped."""
    run_dir = fresh_run_dir(TESSERA_RUN_DIR)
    conf = os.path.join(run_dir, "tessera.conf")
    with open(conf, "w") as f:
        f.write(CONF)
    result = emulib.boot("bochs", ESP, run_dir, TIMEOUT, until=ALL_STOPPED, conf=conf,
                         memory=TESSERA_MEMORY, files=files)
    if result.outcome == "until":
        emulib.remove_disk(run_dir)  # kept after a failure, to look into
    return result


def direct_disk(run_dir: str, files: list[str]) -> str:
    """A GPT disk image with one FAT partition holding the kernel, the
    initramfs and startup.nsh, but no \\EFI\\BOOT\\BOOTX64.EFI (as
    tests/rig/make-esp-img makes one: sfdisk, then mtools at the offset)."""
    img = os.path.join(run_dir, "direct.img")
    with open(img, "wb") as f:
        f.truncate(32 << 20)
    nsh = os.path.join(run_dir, "startup.nsh")
    with open(nsh, "w", newline="") as f:
        f.write(STARTUP_NSH)
    table = 'label: gpt\nstart=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n'
    subprocess.run(["sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", img], input=table,
                   text=True, check=True, stdout=subprocess.DEVNULL)
    dump = subprocess.run(["sfdisk", "--dump", img], stdout=subprocess.PIPE, text=True,
                          check=True).stdout
    start, sectors = map(int, re.search(r"start=\s*(\d+),\s*size=\s*(\d+)", dump).groups())
    part = f"{img}@@{start * 512}"
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    subprocess.run(["mformat", "-i", part, "-T", str(sectors), "-H", str(start), "-h", "64",
                    "-s", "32", "-v", "LINUX", "::"], env=env, check=True)
    subprocess.run(["mcopy", "-Q", "-i", part, *files, nsh, "::/"], env=env, check=True)
    return img


def boot_direct(files: list[str]) -> emulib.Result:
    """The same kernel started by OVMF's shell, until /init's last marker."""
    run_dir = fresh_run_dir(DIRECT_RUN_DIR)
    for tool in ("sfdisk", "mformat", "mcopy"):
        if not shutil.which(tool):
            raise Unavailable(f"{tool} is not installed (Debian packages fdisk, mtools)")
    img = direct_disk(run_dir, files)
    result = emulib.boot("bochs", img, run_dir, TIMEOUT, until=DIRECT_UNTIL, memory=DIRECT_MEMORY)
    if result.outcome == "until" and re.search(INIT_DONE, result.matched):
        emulib.remove_disk(run_dir)  # kept after a failure, to look into
        os.remove(img)
    return result


def boot_both(files: list[str]) -> dict[str, emulib.Result | BaseException]:
    """Both boots at once, each in a thread of its own: their results (or what
    they raised)."""
    results: dict[str, emulib.Result | BaseException] = {}

    def run(key, boot):
        try:
            results[key] = boot(files)
        except Exception as e:  # reported in the table, with the other run's figures
            results[key] = e

    threads = [threading.Thread(target=run, args=("tessera", boot_tessera)),
               threading.Thread(target=run, args=("direct", boot_direct))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        emulib.stop_all()  # after an interrupt: no Bochs left behind
    return results


def init_ticks(lines: list[str]) -> tuple[int | None, str | None]:
    """The kernel's clock when it ran /init, in TSC ticks, from /init's copies
    of the kernel log; and a note when the frequency had to be assumed.

    The kernel's clock (sched_clock) counts at the detected TSC frequency
    and, from the refinement on, at the refined one (arch/x86/kernel/tsc.c
    rescales it then), so the ticks are summed in those two stretches."""
    text = "\n".join(lines)
    at_init = RUN_INIT.search(text)
    if not at_init:
        return None, None
    seconds = float(at_init.group(1))
    detected = TSC_DETECTED.search(text)
    refined = TSC_REFINED.search(text)
    note = None
    if detected:
        hz = float(detected.group(2)) * 1e6
    else:
        hz, note = BOCHS_TSC_HZ, "no TSC frequency in the kernel log: 25 MHz assumed"
    if refined and float(refined.group(1)) < seconds:
        at = float(refined.group(1))
        return round(at * hz + (seconds - at) * float(refined.group(2)) * 1e6), note
    return round(seconds * hz), note


def exits_by_reason(lines: list[str]) -> dict[str, int]:
    """Tessera's count of the linux partition's exits, by reason."""
    counts: dict[str, int] = {}
    for line in lines:
        m = EXITS.match(line)
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + int(m.group(2))
    return counts


def first_number(rx: re.Pattern, lines: list[str]) -> int | None:
    m = next((m for m in map(rx.match, lines) if m), None)
    return int(m.group(1)) if m else None


def failure(what: str, result: emulib.Result | BaseException, until: str) -> str | None:
    """Why a run gave no figures, or None when it reached its end."""
    if isinstance(result, BaseException):
        return f"{what}: {type(result).__name__}: {result}"
    if result.outcome != "until":
        return f"{what}: {result.describe('bochs', until, TIMEOUT)} ({emulib.rel(result.run_dir)})"
    if "Kernel panic" in result.matched:
        return f"{what}: {result.matched.strip()} ({emulib.rel(result.run_dir)})"
    return None


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def rows_of(tessera: emulib.Result | BaseException,
            direct: emulib.Result | BaseException) -> list[tuple[str, str, str, str]]:
    """The table's rows from the two runs; a figure a run did not give is
    "(not reported)", and a row says why that run failed."""
    rows = []
    notes = []
    for what, result, until in (("Tessera run", tessera, ALL_STOPPED),
                                ("direct run", direct, DIRECT_UNTIL)):
        why = failure(what, result, until)
        if why:
            notes.append((f"Linux: {why}", "FAILED", "-", "-"))
    t_lines = tessera.lines if isinstance(tessera, emulib.Result) else []
    d_lines = direct.lines if isinstance(direct, emulib.Result) else []
    t_ticks, t_note = init_ticks(t_lines)
    d_ticks, d_note = init_ticks(d_lines)
    rows.append((LABEL_TESSERA, shown(t_ticks), "-", "-"))
    rows.append((LABEL_DIRECT, shown(d_ticks), "-", "-"))
    if t_ticks is not None and d_ticks:
        ratio = t_ticks / d_ticks
        rows.append((LABEL_RATIO, f"{ratio:.3f}", f"<= {RATIO_GOAL}", verdict(ratio <= RATIO_GOAL)))
    else:
        rows.append((LABEL_RATIO, "(not reported)", f"<= {RATIO_GOAL}", "-"))
    exits = exits_by_reason(t_lines)
    if exits:
        total = sum(exits.values())
        rows.append((LABEL_EXITS, str(total), f"<= {EXIT_GOAL}", verdict(total <= EXIT_GOAL)))
        for reason, count in sorted(exits.items(), key=lambda kv: -kv[1]):
            rows.append((f"  exits: {reason}", str(count), "-", "-"))
    else:
        rows.append((LABEL_EXITS, "(not reported)", f"<= {EXIT_GOAL}", "-"))
    first_entry = first_number(FIRST_ENTRY, t_lines)
    loading = first_number(IMAGE_LOAD, t_lines)
    entry = first_entry - loading if first_entry is not None and loading is not None else None
    rows.append((LABEL_ENTRY, shown(entry), "-", "-"))
    for note, where in ((t_note, "Tessera run"), (d_note, "direct run")):
        if note:
            notes.append((f"Linux: {where}: {note}", "-", "-", "-"))
    return rows + notes


def shown(value: int | None) -> str:
    return "(not reported)" if value is None else str(value)


def skipped(reason: str) -> list[tuple[str, str, str, str]]:
    return [(f"Linux boot figures (issue 5): SKIP: {reason}", "SKIP", "-", "-")]


def run() -> list[tuple[str, str, str, str]]:
    """Both boots, side by side; the table's rows (or one SKIP row saying why)."""
    reason = emulib.missing("bochs")
    if reason:
        return skipped(f"Bochs is not available: {reason}")
    if not os.path.isfile(os.path.join(ESP, "EFI", "BOOT", "BOOTX64.EFI")):
        return skipped(f"no Tessera boot tree at {emulib.rel(ESP)} (run make first)")
    try:
        files = linux_files()
    except Unavailable as e:
        return skipped(str(e))
    results = boot_both(files)
    for key in ("tessera", "direct"):
        if isinstance(results[key], Unavailable):
            return skipped(str(results[key]))
    return rows_of(results["tessera"], results["direct"])


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row))
