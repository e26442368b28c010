"""bochs-flood: a flooding partition does not silence the shell or a quiet one.

guests/flood prints numbered 74-byte lines through full 4 KiB console-write
hypercalls, forever; guests/quiet (-DFLOOD_QUIET) prints "line N of 30"
about every 3 M TSC ticks, then "done", and stops with exit code 0. Both
wait (autostart = no) until the script has switched to JSON mode. While
both run, the script sends requests in JSON mode and times each reply. Then:
- the replies never took longer than REPLY_BOUND seconds;
- quiet's output, live and in `log quiet`, is exactly its 31 lines;
- each flood line that arrived is intact and numbered after the one before;
  lines missing between them, or cut, are allowed only if Tessera said it
  dropped output (a log line saying "dropped" or "lost"), as it must when
  the line cannot keep up; the script notes what was dropped and shown.
"""
import re

import tessera_client as tc

QUIET_LINES = 30
QUIET_OUTPUT = "".join(f"line {n} of {QUIET_LINES}\n" for n in range(1, QUIET_LINES + 1)) + "done\n"
FLOOD_LINE = re.compile(r"^([0-9]{8}) ([a-z]{64})$")
# Seconds from a request's last byte to its reply. Tessera's replies go
# ahead of partition output (at the next line end), so they wait for at most
# a line, not for a queue full of the flood: slowest seen 0.1-0.6 s in Bochs
# (1.3-2.2 s when the flood shared one queue with them); the rest is margin
# for a loaded machine.
REPLY_BOUND = 2.0
# A notice of Tessera's (a log line) that output was dropped or lost.
DROP_NOTICE = re.compile(r"drop|lost", re.I)


def run(t):
    c = t.client
    c.wait_banner(150)
    c.enter_json_mode()
    t.ok("start quiet")
    t.ok("start flood")
    latencies = []
    requests = ["version", "list", "info flood", "stats flood", "log quiet 64"]
    while not re.search(r"^done$", c.console_output("quiet"), re.M):
        for line in requests:
            reply = t.ok(line, timeout=30)
            latencies.append(reply.latency)
        t.check(c.seconds() < 170, "quiet did not finish within 170 s of the client's start")
    mark = c.mark()
    quiet_end = t.event_or_text("state", lambda e: e.partition == "quiet" and e.get("state") == "stopped",
                                r"^tessera: partition quiet stopped: exit code 0$", 60, 0, "quiet's stop")
    if quiet_end is not None:
        t.check("exit code 0" in str(quiet_end.get("reason")), f"quiet's stop: {quiet_end.raw}")
    for line in requests:
        latencies.append(t.ok(line).latency)
    t.check(max(latencies) <= REPLY_BOUND,
            f"a reply took {max(latencies):.2f} s during the flood (bound {REPLY_BOUND} s)")
    t.note(f"{len(latencies)} replies during the flood, slowest {max(latencies):.2f} s, "
           f"mean {sum(latencies) / len(latencies):.3f} s")

    t.equal(c.console_output("quiet"), QUIET_OUTPUT, "quiet's output as it arrived")
    t.equal(t.ok("log quiet")["data"], QUIET_OUTPUT, "log quiet")
    listed = {p["name"]: p for p in t.ok("list")["partitions"]}
    t.equal((listed["quiet"]["state"], listed["quiet"]["stop_reason"]), ("stopped", "exit code 0"), "list: quiet")
    t.equal(listed["flood"]["state"], "running", "list: flood")

    mark = c.mark()
    t.ok("stop -f flood")
    t.event_or_text("state", lambda e: e.partition == "flood" and e.get("state") == "stopped",
                    r"^tessera: partition flood stopped", 60, mark, "flood's stop")
    t.equal(t.ok("version").get("version") is not None, True, "the shell after the flood")
    c.drain(1.0)
    check_flood(t)


def check_flood(t):
    c = t.client
    output = c.console_output("flood")
    lines = output[:output.rfind("\n")].split("\n") if "\n" in output else []
    intact, broken, missing, last, disorder = 0, [], 0, None, []
    for line in lines:
        m = FLOOD_LINE.match(line)
        if not m or m.group(2) != letters(int(m.group(1))):
            broken.append(line)
            continue
        number = int(m.group(1))
        if last is not None and number <= last:
            disorder.append(f"{number} after {last}")
        missing += max(number - (last + 1 if last is not None else 0), 0)
        last = number
        intact += 1
    t.equal(disorder[:3], [], "flood lines out of order")
    notices = [i.raw for i in c.items if notice_text(i) and DROP_NOTICE.search(notice_text(i))]
    t.check(intact > 0, "no flood line arrived")
    if missing or broken:
        t.check(notices, f"{missing} flood lines missing and {len(broken)} cut "
                         f"(e.g. {broken[:1]}) without a dropped-bytes notice")
        t.note(f"flood: {intact} lines shown, {missing} dropped with {len(notices)} notices "
               f"(first: {notices[0][:100]!r})")
    else:
        t.note(f"flood: all {intact} lines shown, none dropped (the line kept up)")


def notice_text(item) -> str:
    """The text of one of Tessera's log lines (event or text), else ""."""
    if isinstance(item, tc.Event) and item.kind == "log":
        return str(item.get("text", ""))
    if isinstance(item, tc.TextLine) and item.text.startswith("tessera: "):
        return item.text
    return ""


def letters(number: int) -> str:
    """The 64 letters of flood line `number` (guests/flood/flood.c)."""
    return "".join(chr(ord("a") + (number + i) % 26) for i in range(64))
