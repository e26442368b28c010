"""bochs-restart: on_crash = restart boots a triple-faulting partition again,
over and over, while the partition beside it runs to its end.

Tessera's own lines go ahead of partition output on the console, so the
serial line does not show the two partitions' progress in the order it
happened: each source of lines is checked in its own order. Tessera's log:
crash is stopped with its diagnosis and restarts three times, and after
stops with exit code 0. crash's console: its announcement after each
(re)start, so it really ran again. after's console: all its checks passed.
"""
import re

RESTARTS = 3


def run(t):
    c = t.client
    c.wait_banner(150)
    c.wait_text(r"^tessera: partition after stopped: exit code 0$", 200, what="after to finish")
    c.wait_text(rf"^tessera: partition 'crash' restarts \(restart {RESTARTS}\)", 200,
                what=f"crash's restart {RESTARTS}")
    lines = c.text_lines()
    tessera = [l.text for l in lines if l.text.startswith("tessera: ")]
    crash = [s for s in (l.console_of("crash") for l in lines) if s is not None]
    after = [s for s in (l.console_of("after") for l in lines) if s is not None]

    stop = r"^tessera: partition crash stopped: TRIPLE_FAULT \(exit reason 2\)"
    t.in_order("Tessera's log", tessera,
               [p for n in range(1, RESTARTS + 1)
                for p in (stop, rf"^tessera: partition 'crash' restarts \(restart {n}\)")])
    t.in_order("Tessera's log", tessera, [r"^tessera: partition after stopped: exit code 0$"])
    announced = [s for s in crash if re.match(r"^empty IDT \+ ud2: this partition will now triple-fault", s)]
    t.check(len(announced) >= RESTARTS, f"crash announced itself {len(announced)} times, "
            f"not once per run ({RESTARTS} restarts)")
    t.in_order("after's console", after, [r"^ok: CPUID signature", r"^all checks passed$"])
