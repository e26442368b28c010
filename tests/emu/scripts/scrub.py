"""bochs-scrub: a partition stopped and started again gets scrubbed RAM.

guests/scrub checks at boot that every dword of its RAM above its image is
zero, then writes a marker over all of it and spins. Each life is started
from the shell in JSON mode (start after stop -f, restart, and reset where
the build has it); every life must report its RAM all zero. Where the build
can pause a partition, `mem` must show the marker in its RAM first, so that
the zeros a later life finds are not the marker missing all along.
"""
import re

MiB = 1 << 20
MEMORY = 8 * MiB
# The end of the RAM window above 1 MiB for 8 MiB of RAM: 640 KiB of the
# size lie below the VGA window (hv/layout.h).
HIGH_RAM_END = 0x100000 + MEMORY - 0xA0000
# The marker at a guest-physical address (guests/scrub/scrub.c).
MARKER_MULTIPLIER, MARKER_OFFSET = 0x9e3779b1, 0x5c7b0001
LIFE_DONE = r"^(idle: spinning until stopped|boot: LEFTOVER.*|FAILED.*)$"


def run(t):
    c = t.client
    c.wait_banner(150)
    base = check_life(t, 1, c.wait_console("scrub", LIFE_DONE, 60, what="the first life's checks"))
    c.enter_json_mode()
    expect_partition(t, "running", 0)
    with t.feature("pause, mem, resume"):
        check_marker_in_ram(t, base)

    mark = c.mark()
    t.ok("stop -f scrub")
    t.event_or_text("state", lambda e: e.partition == "scrub" and e.get("state") == "stopped",
                    r"^tessera: partition scrub stopped", 30, mark, "the stop")
    info = expect_partition(t, "stopped", 0)
    t.check("operator" in info["stop_reason"], f"stop reason {info['stop_reason']!r}")
    owners = memory_owners(t)
    t.check("scrub" not in owners, f"memmap: stopped scrub still owns {owners.get('scrub')} bytes")

    lives = [("start scrub", "started"), ("restart scrub", "restarted")]
    for number, (command, change) in enumerate(lives, start=2):
        mark = c.mark()
        t.ok(command)
        check_life(t, number, c.wait_console("scrub", LIFE_DONE, 60, mark, f"life {number}'s checks"))
        expect_partition(t, "running", number - 1)
        t.equal(memory_owners(t).get("scrub"), MEMORY, f"memmap: scrub's RAM in life {number}")
    with t.feature("reset"):
        mark = c.mark()
        t.ok("reset scrub")
        check_life(t, 4, c.wait_console("scrub", LIFE_DONE, 60, mark, "life 4's checks"))
    t.equal(t.ok("audit")["problems"], 0, "audit after the lives")


def check_life(t, number: int, output: str) -> int:
    """The checks one life printed: all zero over the expected range, marked.
    Returns the first address checked."""
    life = output[output.rfind("boot: "):]
    t.check("LEFTOVER" not in life and "FAILED" not in life, f"life {number}: {life.strip()!r}")
    m = re.search(r"^boot: ([0-9]+) KiB at 0x([0-9a-f]{8})-0x([0-9a-f]{8}) all zero$", life, re.M)
    t.check(m, f"life {number}: no 'all zero' line in {life.strip()!r}")
    kib, base, last = int(m.group(1)), int(m.group(2), 16), int(m.group(3), 16)
    t.equal(last + 1, HIGH_RAM_END, f"life {number}: end of the RAM checked")
    t.check(0x100000 < base < 0x120000, f"life {number}: check starts at {base:#x}, not above the image")
    t.equal(kib * 1024, HIGH_RAM_END - base, f"life {number}: KiB checked")
    t.check(re.search(rf"^marker: written and read back over {kib} KiB$", life, re.M),
            f"life {number}: marker not written: {life.strip()!r}")
    t.log(f"life {number}: {kib} KiB zero at boot, then marked")
    return base


def expect_partition(t, state: str, restarts: int) -> dict:
    info = t.ok("info scrub")
    t.equal((info["state"], info["restarts"], info["memory_bytes"]), (state, restarts, MEMORY),
            "info scrub: state, restarts, memory")
    return info.fields


def memory_owners(t) -> dict:
    owners = {}
    for r in t.ok("memmap")["ranges"]:
        owners[r["owner"]] = owners.get(r["owner"], 0) + r["size"]
    return owners


def check_marker_in_ram(t, base: int):
    """Paused, the partition's RAM holds the marker (as `mem` shows it)."""
    c = t.client
    mark = c.mark()
    t.ok("pause scrub")
    t.event_or_text("state", lambda e: e.partition == "scrub" and e.get("state") == "paused",
                    r"^tessera: partition '?scrub'? (is )?paused", 30, mark, "the pause")
    t.equal(t.ok("info scrub")["state"], "paused", "info scrub: state after pause")
    for gpa in (base, 0x400000, HIGH_RAM_END - 16):
        dump = t.ok(f"mem scrub {gpa:#x} 16")
        expected = b"".join(((a * MARKER_MULTIPLIER + MARKER_OFFSET) & 0xffffffff).to_bytes(4, "little")
                            for a in range(gpa, gpa + 16, 4))
        t.equal(str(dump.get("data")).lower(), expected.hex(), f"mem scrub {gpa:#x} 16: the marker")
    t.error(f"mem scrub {HIGH_RAM_END:#x} 16", r"mem")
    regs = t.ok("regs scrub")
    registers = regs.get("registers", regs.fields)
    rip = t.hex_address(registers.get("rip"), "regs: rip")
    t.check(0x100000 <= rip < base, f"regs: rip {rip:#x} is not in the guest's code: {regs.raw}")
    # Paging is off (CR0.PG, bit 31, clear) and protected mode on (CR0.PE, bit 0).
    cr0 = t.hex_address(registers.get("cr0"), "regs: cr0")
    t.equal((cr0 & 1, cr0 >> 31 & 1), (1, 0), "regs: CR0.PE and CR0.PG of a flat 32-bit guest")
    t.ok("resume scrub")
    t.equal(t.ok("info scrub")["state"], "running", "info scrub: state after resume")
