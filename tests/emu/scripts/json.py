"""bochs-json: the machine protocol's replies, field by field.

Configuration tests/emu/configs/json.conf: hello (16 MiB) runs to exit code 0
at boot; echo (8 MiB, autostart = no) waits. Once hello has stopped, the
script switches to JSON mode and checks every reply against what it knows
independently: the configuration, hello's console lines as they came by in
text mode, and the VMX exit-reason numbers of the SDM (Vol. 3, Appendix C).
Then it starts and stops echo and checks the events that report it.
"""
import re
import time

import tessera_client as tc

MiB = 1 << 20
# Basic exit reasons as the SDM numbers them (Vol. 3D, Appendix C), for the
# names a reply may use.
SDM_EXIT_REASONS = {
    "EXCEPTION_NMI": 0, "EXTERNAL_INTERRUPT": 1, "TRIPLE_FAULT": 2, "CPUID": 10, "HLT": 12,
    "RDTSC": 16, "VMCALL": 18, "CR_ACCESS": 28, "IO_INSTRUCTION": 30, "RDMSR": 31,
    "WRMSR": 32, "PAUSE": 40, "EPT_VIOLATION": 48, "PREEMPTION_TIMER": 52, "XSETBV": 55,
}
# Every partition in list and info has these members.
PARTITION_FIELDS = {"name": str, "state": str, "vcpus": int, "memory_bytes": int,
                    "uptime_ms": int, "exits": int, "restarts": int, "stop_reason": str}
# The commands every build has had since the shell came (hv/shell.c).
BASE_COMMANDS = {"help", "version", "list", "info", "start", "stop", "restart", "log", "stats",
                 "trace", "audit", "memmap", "config", "loglevel", "mode"}
# hello's image is loaded at 1 MiB and is a few KiB long (guests/guest.ld).
HELLO_CODE = range(0x100000, 0x100000 + 64 * 1024)
UART_PORTS = range(0x3f8, 0x400)


def run(t):
    c = t.client
    c.wait_banner(150)
    c.wait_text(r"^tessera: partition hello stopped: exit code 0$", 60)
    # Typed only once Tessera is quiet: in text mode the echo shares its lines.
    c.wait_text(r"^tessera: all partitions stopped", 30)
    hello_output = c.console_output("hello")
    t.check("all checks passed\n" in hello_output, f"hello's console lines: {hello_output!r}")

    started = time.monotonic()
    first = c.enter_json_mode()
    t.equal(first.seq, 1, "seq of the first line typed")
    json_mark = c.mark()
    check_version_and_help(t)
    hello = check_list_and_info(t)
    check_stats(t, hello)
    check_trace(t)
    check_log(t, hello_output)
    check_errors(t)
    check_audit_memmap(t)
    check_loglevel(t)
    with t.feature("config"):
        check_config(t)
    check_start_stop_events(t)
    # Once events are JSON, nothing in JSON mode is text.
    texts = [l.text for l in c.text_lines(json_mark) if l.text.strip()]
    t.check(not texts or not c.events(), f"JSON events arrive, yet in JSON mode these came as text: {texts[:5]}")
    replies = c.replies(json_mark)
    check_mode_switch(t)
    t.equal([m.raw for m in c.malformed()], [], "lines that looked like JSON but were not")
    t.note(f"{len(replies)} replies in {time.monotonic() - started:.1f} s")


def check_version_and_help(t):
    version = t.ok("version")
    t.check(re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\S*", str(version.get("version"))),
            f"version: {version.raw}")
    commands = t.ok("help")["commands"]
    t.check(isinstance(commands, list) and commands, f"help: {commands!r}")
    for command in commands:
        t.fields(command, {"name": str, "usage": str, "summary": str}, "help entry")
        t.check(command["summary"], f"help: {command['name']} has no summary")
    names = [command["name"] for command in commands]
    t.equal(len(names), len(set(names)), "help: each command once")
    t.check(BASE_COMMANDS <= set(names), f"help lacks {sorted(BASE_COMMANDS - set(names))}")


def check_list_and_info(t) -> dict:
    partitions = t.ok("list")["partitions"]
    t.equal([p.get("name") for p in partitions], ["hello", "echo"], "list: partitions in configuration order")
    for p in partitions:
        t.fields(p, PARTITION_FIELDS, f"list entry {p['name']}")
    hello, echo = partitions
    t.equal((hello["state"], hello["vcpus"], hello["memory_bytes"], hello["restarts"],
             hello["stop_reason"]), ("stopped", 1, 16 * MiB, 0, "exit code 0"), "list: hello")
    t.check(hello["exits"] > 0, f"list: hello made no exits: {hello}")
    t.equal((echo["state"], echo["vcpus"], echo["memory_bytes"], echo["exits"], echo["restarts"],
             echo["stop_reason"], echo["uptime_ms"]), ("ready", 1, 8 * MiB, 0, 0, "", 0), "list: echo")
    for p in partitions:
        info = t.ok(f"info {p['name']}")
        for key in PARTITION_FIELDS:
            if key != "uptime_ms":
                t.equal(info.get(key), p[key], f"info {p['name']}: {key} (as list said)")
    return hello


def check_stats(t, hello: dict):
    stats = t.ok("stats hello")
    t.equal(stats.get("partition"), "hello", "stats hello: partition")
    t.fields(stats.fields, {"total": int, "exits": list}, "stats hello")
    counts = check_exit_counts(t, stats, "stats hello")
    t.equal(stats["total"], hello["exits"], "stats hello: total (the exits list showed)")
    # hello reads CPUID leaves, makes hypercalls and prints through its UART.
    for reason in ("CPUID", "VMCALL", "IO_INSTRUCTION"):
        t.check(counts.get(reason, 0) > 0, f"stats hello: no {reason} exits: {stats.raw}")
    everything = t.ok("stats")
    t.check("partition" not in everything.fields, f"stats of all names a partition: {everything.raw}")
    all_counts = check_exit_counts(t, everything, "stats")
    # echo never ran: all exits are hello's.
    t.equal(all_counts, counts, "stats of all partitions (only hello ran)")
    line = everything.get("console_line")
    if line is None:
        t.missing("UART error counters in stats", "the reply has no console_line member")
    else:
        t.fields(line, {"overruns": int, "framing_errors": int, "parity_errors": int, "breaks": int},
                 "stats: console_line")


def check_exit_counts(t, reply: tc.Reply, what: str) -> dict:
    """The reasons and counts of a stats reply, checked against the SDM's numbers."""
    counts = {}
    for entry in reply["exits"]:
        t.fields(entry, {"reason": str, "number": int, "count": int}, f"{what}: exit entry")
        t.check(entry["count"] > 0, f"{what}: a reason listed with count 0: {entry}")
        if entry["reason"] in SDM_EXIT_REASONS:
            t.equal(entry["number"], SDM_EXIT_REASONS[entry["reason"]], f"{what}: number of {entry['reason']}")
        counts[entry["reason"]] = entry["count"]
    t.equal(sum(counts.values()), reply["total"], f"{what}: total = sum of the counts")
    t.equal([e["number"] for e in reply["exits"]], sorted(e["number"] for e in reply["exits"]),
            f"{what}: reasons in ascending order")
    return counts


def check_trace(t):
    trace = t.ok("trace hello")
    t.equal(trace.get("partition"), "hello", "trace hello: partition")
    records = trace["exits"]
    t.check(isinstance(records, list) and 0 < len(records) <= 32, f"trace hello: {len(records)} records")
    for record in records:
        t.fields(record, {"vcpu": int, "reason": str, "exit_reason": str, "rip": str,
                          "qualification": str, "gpa": str}, "trace record")
        t.equal(record["vcpu"], 0, "trace: vCPU of a one-vCPU partition")
        basic = t.hex_address(record["exit_reason"], "trace: exit_reason") & 0xffff
        if record["reason"] in SDM_EXIT_REASONS:
            t.equal(basic, SDM_EXIT_REASONS[record["reason"]], f"trace: exit_reason of {record['reason']}")
        rip = t.hex_address(record["rip"], "trace: rip")
        t.check(rip in HELLO_CODE, f"trace: rip {record['rip']} is not in hello's code")
        qualification = t.hex_address(record["qualification"], "trace: qualification")
        if record["reason"] == "IO_INSTRUCTION":
            # SDM Vol. 3C, Table 28-5: bits 31:16 hold the port.
            t.check((qualification >> 16) & 0xffff in UART_PORTS,
                    f"trace: hello's port I/O is its UART's, not port {qualification >> 16:#x}")
        t.hex_address(record["gpa"], "trace: gpa")
    # hello ends with the stop hypercall: its last exit.
    t.equal(records[-1]["reason"], "VMCALL", "trace hello: the last exit (the stop hypercall)")


def check_log(t, hello_output: str):
    log = t.ok("log hello")
    t.equal(log.get("partition"), "hello", "log hello: partition")
    t.equal(log.get("data"), hello_output, "log hello: the lines hello printed at boot")
    t.equal(t.ok("log hello 20").get("data"), hello_output[-20:], "log hello 20: the newest 20 bytes")
    t.equal(t.ok("log hello 0").get("data"), "", "log hello 0")
    big = t.ok(f"log hello {10 ** 12}").get("data")
    t.equal(big, hello_output, "log hello with a byte count beyond what is kept")
    t.equal(t.ok("log echo").get("data"), "", "log of a partition that never ran")


def check_errors(t):
    t.error("frobnicate now", r"^unknown command 'frobnicate'")
    t.error("info", r"^info: wrong number of arguments \(usage: info NAME\)$")
    t.error("info nosuch", r"^info: no partition named 'nosuch'$")
    t.error("log hello lots", r"^log: bad number 'lots'$")
    t.error("stats nosuch", r"no partition named 'nosuch'")
    t.error("trace nosuch", r"no partition named 'nosuch'")
    t.error("start hello hello", r"wrong number of arguments")
    t.error("mode yaml", r"^mode: unknown mode 'yaml'")
    # The state is checked before anything is done.
    t.error("stop hello", r"^stop: hello is stopped")


def check_audit_memmap(t):
    audit = t.ok("audit")
    t.fields(audit.fields, {"partitions": int, "leaves": int, "mapped_bytes": int, "problems": int}, "audit")
    t.equal(audit["problems"], 0, "audit: problems")
    ranges = t.ok("memmap")["ranges"]
    t.check(isinstance(ranges, list) and ranges, "memmap: no ranges")
    end, owned = 0, {}
    for r in ranges:
        t.fields(r, {"start": str, "size": int, "owner": str}, "memmap range")
        start = t.hex_address(r["start"], "memmap: start")
        t.check(start >= end, f"memmap: {r} overlaps or is out of order")
        t.check(start % 4096 == 0 and r["size"] % 4096 == 0 and r["size"] > 0, f"memmap: {r} is not whole pages")
        end = start + r["size"]
        owned[r["owner"]] = owned.get(r["owner"], 0) + r["size"]
    t.check("hypervisor" in owned and "free" in owned, f"memmap owners: {sorted(owned)}")
    t.check("hello" not in owned, f"memmap: stopped hello still owns {owned.get('hello')} bytes")
    t.check(owned.get("echo", 0) in (0, 8 * MiB), f"memmap: echo owns {owned.get('echo')} bytes, not 8 MiB")
    t.equal(audit["mapped_bytes"], owned.get("echo", 0), "audit: bytes mapped (echo's RAM, if built)")


def check_loglevel(t):
    t.equal(t.ok("loglevel").get("level"), "info", "loglevel (the configuration's)")
    t.equal(t.ok("loglevel debug").get("level"), "debug", "loglevel debug")
    t.equal(t.ok("loglevel").get("level"), "debug", "loglevel after setting debug")
    t.error("loglevel chatty", r"^loglevel: unknown level 'chatty'")
    t.equal(t.ok("loglevel info").get("level"), "info", "loglevel info")


def check_config(t):
    settings = t.ok("config")["settings"]
    t.check(isinstance(settings, list) and settings, "config: no settings")
    table = {}
    for s in settings:
        t.fields(s, {"section": str, "key": str, "value": str}, "config setting")
        table[(section_name(s["section"]), s["key"])] = s["value"]
    t.equal(size_of(table.get(("hello", "memory"))), 16 * MiB, "config: hello's memory")
    t.equal(size_of(table.get(("echo", "memory"))), 8 * MiB, "config: echo's memory")
    t.check(str(table.get(("hello", "image"))).endswith("hello.bin"), f"config: hello's image {table.get(('hello', 'image'))!r}")
    t.equal(number_of(table.get(("hello", "entry"))), 0x100000, "config: hello's entry")
    t.check(str(table.get(("echo", "autostart"))).lower() in ("no", "false", "0"),
            f"config: echo's autostart {table.get(('echo', 'autostart'))!r}")
    t.equal(str(table.get(("tessera", "loglevel"))), "info", "config: loglevel")


def section_name(section: str) -> str:
    """"partition NAME" -> NAME; "tessera"/"global" -> "tessera"."""
    if section.startswith("partition "):
        return section[len("partition "):]
    return "tessera" if section in ("global", "tessera") else section


def size_of(value) -> int | None:
    """A size as the configuration or a reply may write it: 16M, 16 MiB, 16777216."""
    m = re.fullmatch(r"\s*([0-9]+|0x[0-9a-fA-F]+)\s*([KMG]?)(i?B)?\s*", str(value))
    if not m:
        return None
    return int(m.group(1), 0) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def number_of(value) -> int | None:
    try:
        return int(str(value), 0)
    except ValueError:
        return None


def check_start_stop_events(t):
    c = t.client
    mark = c.mark()
    start = t.ok("start echo")
    t.equal(start.get("partition"), "echo", "start echo: partition")
    state = t.event_or_text("state", lambda e: e.partition == "echo" and e.get("state") == "running",
                            r"^tessera: partition 'echo' started", 30, mark, "echo's start")
    if state is not None:
        t.equal(state.get("change"), "started", f"state event of the start: {state.raw}")
    c.wait_console("echo", r"^ready: echoing what the UART receives$", 30, mark)
    console = c.events("console", "echo", mark)
    if console:
        t.check(all(isinstance(e.get("data"), str) for e in console), "console events carry data")
    listed = {p["name"]: p for p in t.ok("list")["partitions"]}
    t.equal(listed["echo"]["state"], "running", "list: echo after start")
    t.error("start echo", r"^start: echo is running")

    mark = c.mark()
    t.ok("stop -f echo")
    state = t.event_or_text("state", lambda e: e.partition == "echo" and e.get("state") == "stopped",
                            r"^tessera: partition echo stopped", 30, mark, "echo's stop")
    if state is not None:
        t.check("operator" in str(state.get("reason", "")), f"state event of the stop: {state.raw}")
        log = t.event_or_text("log", lambda e: "echo stopped" in str(e.get("text")),
                              r"^tessera: partition echo stopped", 30, mark, "the log line of echo's stop")
        if log is not None:
            t.check(isinstance(log.get("text"), str) and not log["text"].startswith("tessera: "),
                    f"log event text: {log.raw}")
    echo = {p["name"]: p for p in t.ok("list")["partitions"]}["echo"]
    t.equal(echo["state"], "stopped", "list: echo after stop -f")
    t.check("operator" in echo["stop_reason"], f"list: echo's stop reason {echo['stop_reason']!r}")
    t.check(echo["exits"] > 0, "list: echo's exits after it ran")


def check_mode_switch(t):
    """Replies in text mode after `mode text`; the count goes on across modes."""
    c = t.client
    seq = c.next_seq
    mark = c.send_line("mode text")
    c.wait_text(r"^mode: text$", 30, mark)
    mark = c.send_line("version")
    c.wait_text(r"^Tessera [0-9]+\.[0-9]+", 30, mark)
    again = c.enter_json_mode()
    t.equal(again.seq, seq + 2, "seq of `mode json` after two lines in text mode")
    t.ok("version")
