"""bochs-attach: console attach and `send`, against guests/echo.

The echo guest polls its UART's Data Ready bit, echoes each byte, and after
a line end prints "got line N: 'TEXT' (L bytes)"; text without a line end
it reports after a second of quiet ("got text N: ..."), any other control
byte as "got control byte 0xXX".

Text mode: `console echo` attaches (the reply names Ctrl-] as the way out);
typed lines reach the guest, not the shell, and come back; Ctrl-] detaches
and must not reach the guest; the shell then answers. JSON mode: `send`
types a line, a text without line end and escaped bytes (among them the
detach key, which send must deliver) without attaching; the echo comes as
console output of echo. The guest's reports number its lines, so the test
also sees that nothing else reached it.
"""
import re

DETACH = b"\x1d"


def run(t):
    c = t.client
    c.wait_banner(150)
    c.wait_console("echo", r"^ready: echoing what the UART receives$", 60)
    lines = 0  # lines (and texts) the guest has reported so far
    with t.feature("console attach"):
        lines = attach(t)
    c.enter_json_mode()
    with t.feature("send"):
        send(t, lines)


def attach(t) -> int:
    """The attach part (text mode); returns how many lines the guest reported."""
    c = t.client
    mark = c.send_line("console echo")
    item = c.wait_text(r"^(tessera: attached to echo\b.*|error: .*)$", 30, mark, "the attach (or its error)")
    if item.text.startswith("error: "):
        t.check(re.search(r"unknown command|not available", item.text), f"console echo: {item.text}")
        t.missing("console attach", item.text[len("error: "):])
        return 0
    t.check("Ctrl-]" in item.text, f"the attach line names the way out: {item.text!r}")
    mark = c.send_line("ping-1234")
    sent = c.clock()
    got = c.wait_text(r"^got line 1: 'ping-1234' \(9 bytes\)$", 30, mark, "the guest's report of the typed line")
    t.check(any(l.text == "ping-1234" for l in c.text_lines(mark)), "the echo of the typed line")
    t.note(f"attached: the guest reported the typed line {max(got.at - sent, 0):.2f} s after its "
           f"last byte (to within the typing pace, {t.link.default_pause} s)")
    # While attached, shell commands are just text for the guest.
    mark = c.send_line("list")
    c.wait_text(r"^got line 2: 'list' \(4 bytes\)$", 30, mark, "the guest's report of 'list'")
    t.check(not any(l.text.startswith("NAME ") for l in c.text_lines(mark)),
            "'list' typed while attached reached the shell")
    mark = c.mark()
    c.send_raw(DETACH)
    c.wait_text(r"^tessera: detached from echo\b", 30, mark, "the detach")
    mark = c.send_line("version")
    c.wait_text(r"^Tessera [0-9]+\.[0-9]+", 30, mark, "the shell's answer after detaching")
    return 2


def send(t, lines: int):
    c = t.client
    mark = c.mark()
    reply = t.ok("send echo hello-json")
    t.equal((reply.get("partition"), reply.get("bytes")), ("echo", 11), "send: partition, bytes (text + newline)")
    lines += 1
    c.wait_console("echo", rf"^got line {lines}: 'hello-json' \(10 bytes\)$", 30, mark)
    t.check(re.search(r"^hello-json$", c.console_output("echo", mark), re.M), "the echo of the sent line")
    t.note(f"send: the guest's report came {c.items[-1].at - reply.at:.2f} s after the reply")

    mark = c.mark()
    t.equal(t.ok("send -n echo no-newline").get("bytes"), 10, "send -n: bytes")
    lines += 1
    c.wait_console("echo", rf"^got text {lines}: 'no-newline' \(10 bytes, no line end\)$", 30, mark)

    mark = c.mark()
    # Escapes: a tab and the detach key reach the guest as bytes of their own.
    t.equal(t.ok(r"send -n echo \t\x1d").get("bytes"), 2, "send -n with escapes: bytes")
    c.wait_console("echo", r"^got control byte 0x09\ngot control byte 0x1d$", 30, mark)
    t.error("send nosuch hi", r"no partition named 'nosuch'")
    t.error(r"send echo bad\q", r"bad escape")

    log = t.ok("log echo")["data"]
    t.equal(log.count("got control byte 0x1d"), 1, "0x1d reports in log echo (the detach key must not reach the guest)")
    reports = re.findall(r"^got (?:line|text) ([0-9]+):", log, re.M)
    t.equal([int(n) for n in reports], list(range(1, lines + 1)), "the guest's reports, in order, none extra")
    t.equal(t.ok("info echo")["state"], "running", "echo after all this")
