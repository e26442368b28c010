"""bochs-garbage: the shell survives garbage and stays usable.

In text mode, then in JSON mode: random bytes (fixed seed), NULs, escape
sequences (arrows, function keys, bracketed paste, an OSC title string, a
lone ESC), a line longer than the editor's 127 characters, and a burst of
bytes written at once (Bochs' UART holds 16: the rest overrun). After each,
Ctrl-C and a command that must work. Then: hello is as the garbage found it
(nothing typed started or stopped anything), every JSON line parsed, and the
overruns that Bochs logged show in `stats` as console line overruns.
"""
import random
import re

import scenario

LINE_MAX = 127          # SHELL_LINE_MAX - 1 (hv/shell.h)
CTRL_C = b"\x03"
ESCAPES = (b"\x1b[A\x1b[B\x1b[C\x1b[D\x1b[1;5C\x1bOP\x1b[15~\x1b[200~pasted\x1b[201~"
           b"\x1b]0;a title\x07\x1b[?25l\x1b[999999999999999999999H\x1bc\x1b")
VERSION_TEXT = r"^Tessera [0-9]+\.[0-9]+\.[0-9]+"


def run(t):
    c = t.client
    rng = random.Random(20240607)
    c.wait_banner(150)
    c.wait_text(r"^tessera: all partitions stopped", 60)

    # ---- text mode ----
    for name, junk in garbage(rng):
        mark = c.mark()
        c.send_raw(junk)
        c.send_raw(CTRL_C)
        c.send_line("version")
        c.wait_text(VERSION_TEXT, 30, mark, f"the version after {name} (text mode)")
    mark = c.mark()
    c.send_raw(b"x" * (LINE_MAX + 73) + b"\r")
    c.wait_text(rf"^error: line too long \(at most {LINE_MAX} characters\); ignored$", 30, mark)
    c.send_line("version")
    c.wait_text(VERSION_TEXT, 30, mark, "the version after the overlong line")
    burst(t, b"burst " * 40)
    c.send_line("version")
    check_echo_is_clean(t)

    # ---- JSON mode ----
    c.enter_json_mode()
    for name, junk in garbage(rng):
        c.send_raw(junk)
        c.send_raw(CTRL_C)
        t.ok("version")  # the count is unknown: matched by its command
        # Typed lines of garbage got error replies, each one JSON line.
    mark = c.mark()
    before = t.ok("version").seq
    c.send_raw(b"y" * (LINE_MAX + 1) + b"\r")
    line = c.wait_for(lambda i: getattr(i, "command", None) == "line", 30, "the overlong line's reply", mark)
    t.check(not line.ok and re.fullmatch(rf"line too long \(at most {LINE_MAX} characters\); ignored", line.error),
            f"overlong line: {line.raw}")
    t.equal(line.seq, before + 1, "seq of the overlong line (it counts as one)")
    c.next_seq = line.seq + 1
    t.equal(t.ok("version").seq, line.seq + 1, "seq after the overlong line")
    exact = "z" * LINE_MAX
    t.error(exact, rf"^unknown command '{exact}'")  # the longest line fits
    burst(t, b"flood " * 40)
    t.ok("version")

    hello = t.ok("list")["partitions"][0]
    t.equal((hello["name"], hello["state"], hello["restarts"], hello["stop_reason"]),
            ("hello", "stopped", 0, "exit code 0"), "hello after the garbage")
    t.equal([m.raw for m in c.malformed()], [], "JSON lines that did not parse")
    errors = [r for r in c.replies() if not r.ok]
    t.check(all(not r.missing_feature or r.command not in ("version", "list", "stats") for r in errors),
            "a command the test needs was refused")
    check_overruns(t)


def check_echo_is_clean(t):
    """What the shell wrote back in text mode holds no garbage byte: only
    printable ASCII, CR, BEL, backspace and its own erase-line (ESC [ K)."""
    for item in t.client.text_lines():
        raw = item.raw.replace("\x1b[K", "")
        bad = [ch for ch in raw if not (" " <= ch <= "~" or ch in "\r\a\b")]
        t.check(not bad or item.raw.startswith(("\x1b[2J", "BdsDxe")),
                f"the shell wrote {bad[:5]!r} back: {item.raw[:120]!r}")


def garbage(rng):
    """(name, bytes) of each kind of garbage."""
    return [
        ("random bytes", bytes(rng.randrange(256) for _ in range(200))),
        ("NULs", b"\x00" * 40 + b"ver\x00sion\x00"),
        ("escape sequences", ESCAPES),
        ("control bytes", bytes(range(0x00, 0x20)) + b"\x7f" * 4 + bytes(range(0x80, 0x100, 7))),
    ]


def burst(t, data: bytes):
    """Writes `help` and data at once: data arrives while the shell writes
    help's reply (some 1.5 KB at 115200 baud, over 100 ms of Bochs time),
    faster than Bochs' 16-byte receive FIFO is read. Then Ctrl-C."""
    c = t.client
    c.send_raw(b"help\r" + data, pause=0)
    c.drain(1.0)
    c.send_raw(CTRL_C)


def check_overruns(t):
    """Bochs logs each byte its full receive FIFO lost; Tessera must count
    overruns (LSR OE, at least one per run of lost bytes, at most one per byte)."""
    with t.feature("UART error counters in stats"):
        stats = t.ok("stats")
        line = stats.get("console_line")
        if line is None:
            t.missing("UART error counters in stats", "the stats reply has no console_line member")
            return
        t.fields(line, {"overruns": int, "framing_errors": int, "parity_errors": int, "breaks": int},
                 "stats: console_line")
        # bochs.log is written as Bochs goes (checked: no count grew later).
        lost = scenario.lost_typed_bytes(t.run_dir)
        t.note(f"Bochs logged {lost} bytes lost to receive FIFO overflow; Tessera counted "
               f"{line['overruns']} overruns")
        t.check(1 <= line["overruns"] <= lost if lost else line["overruns"] == 0,
                f"{line['overruns']} overruns counted for {lost} bytes lost")
        t.equal((line["framing_errors"], line["parity_errors"], line["breaks"]), (0, 0, 0),
                "framing, parity and break errors on an emulated line")
