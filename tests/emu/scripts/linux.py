"""bochs-linux: Debian's kernel reaches /init in a partition beside hello.

Waits until every partition has stopped, then checks each source of lines
in its own order: Tessera's log, hello's console and linux's console (lines
"NAME: text"). Their lines interleave in no fixed order (Tessera queues
partition output), so one ordered list of `expect` lines cannot check them.

/init (tests/rig/make-linux-guest) prints between its two markers the CPU
flags folded to several lines, /proc/interrupts and `uname -r`. The checks:
the flags include `hypervisor`; the PIT's "timer" line, the UART's "ttyS0"
line and the local APIC timer (LOC) each counted an interrupt on some CPU;
`uname -r` is the release of the kernel that make-linux-guest unpacked.
The kernel log's warnings are the .test's `reject` lines.
"""
import os
import re

import emulib

# The test's timeout ends the wait first (the link raises LinkTimeout).
WAIT_ALL_STOPPED = 24 * 3600
KERNEL_RELEASE = os.path.join(emulib.BUILD, "linux", "kernel-release")
MARK_START = "linux-guest: init started"
MARK_UNAME = "linux-guest: uname -r: "
MARK_END = "linux-guest: init done, powering off"
# A row of /proc/interrupts: "  4:   22   IO-APIC   4-edge   ttyS0", "LOC:  732   Local timer ...".
INTERRUPT_ROW = re.compile(r"^\s*([0-9A-Z]+):((?:\s+[0-9]+)+)(?:\s+(.*))?$")


def run(t):
    c = t.client
    c.wait_banner(300)
    c.wait_text(r"^tessera: all partitions stopped", WAIT_ALL_STOPPED, what="every partition to stop")
    lines = c.text_lines()
    tessera = [l.text for l in lines if l.text.startswith("tessera: ")]
    hello = [s for s in (l.console_of("hello") for l in lines) if s is not None]
    linux = [s for s in (l.console_of("linux") for l in lines) if s is not None]

    t.in_order("Tessera's log", tessera, [
        r"^tessera: cpu 0: in VMX root operation",
        r"^tessera: partition 'linux' started",
        r"^tessera: all partitions stopped"])
    t.in_order("Tessera's log", tessera, [r"^tessera: partition 'hello' started",
                                           r"^tessera: partition hello stopped: exit code 0$"])
    stop = next((l for l in tessera if l.startswith("tessera: partition linux stopped")), None)
    t.check(stop is not None and re.search(r"power(ed)? ?off", stop),
            f"linux was not stopped by its power-off: {stop or 'no stop line'}")
    t.in_order("hello's console", hello, [r"^ok: CPUID signature", r"^all checks passed$"])
    at = t.in_order("linux's console", linux, [
        r"Linux version [0-9]", r"Run /init as init process", "^" + re.escape(MARK_START)])
    end = t.in_order("/init's output", linux[at:], ["^" + re.escape(MARK_UNAME), "^" + re.escape(MARK_END)])
    init = linux[at:at + end]
    check_flags(t, init)
    check_interrupts(t, init)
    check_release(t, next(l for l in init if l.startswith(MARK_UNAME)))
    t.note(f"/init done {seconds_to(c, MARK_END):.0f} s after the start")


def check_flags(t, init: list[str]) -> None:
    """The folded flags line, from "flags" to the /proc/interrupts header, has `hypervisor`."""
    start = next((i for i, l in enumerate(init) if l.startswith("flags")), None)
    t.check(start is not None, "/init printed no 'flags' line")
    header = next((i for i in range(start, len(init)) if init[i].split()[:1] == ["CPU0"]), len(init))
    text = " ".join(init[start:header])
    flags = text.partition(":")[2].split()
    t.check(len(flags) > 10, f"the flags line holds only {flags}")
    t.check("hypervisor" in flags, f"no 'hypervisor' among the CPU flags: {' '.join(flags)}")


def interrupt_counts(init: list[str]) -> dict[str, int]:
    """/proc/interrupts as {device or row name: count summed over the CPUs}."""
    counts: dict[str, int] = {}
    for line in init:
        m = INTERRUPT_ROW.match(line)
        if not m:
            continue
        total = sum(int(n) for n in m.group(2).split())
        description = (m.group(3) or "").split()
        # Numbered rows end with the device ("timer", "ttyS0"), named ones are the key.
        key = description[-1] if m.group(1).isdigit() and description else m.group(1)
        counts[key] = counts.get(key, 0) + total
    return counts


def check_interrupts(t, init: list[str]) -> None:
    counts = interrupt_counts(init)
    t.check(counts, "/init printed no /proc/interrupts rows")
    for key, what in (("timer", "the PIT (IRQ0)"), ("ttyS0", "the UART"), ("LOC", "the local APIC timer")):
        t.check(key in counts, f"/proc/interrupts has no {key} row: {sorted(counts)}")
        t.check(counts[key] > 0, f"{what}: /proc/interrupts counts no {key} interrupt")


def check_release(t, line: str) -> None:
    """`uname -r` names the kernel that make-linux-guest put on the disk."""
    with open(KERNEL_RELEASE) as f:
        expected = f.read().strip()
    t.equal(line[len(MARK_UNAME):].strip(), expected, "uname -r")


def seconds_to(c, text: str) -> float:
    """When the partition's line `text` arrived, in seconds since the client started."""
    start = c.clock() - c.seconds()
    line = next(l for l in c.text_lines() if l.console_of("linux") == text)
    return line.at - start
