#!/usr/bin/env python3
"""Unit tests of tests/rig/tessera_client.py: the protocol parser on byte
streams recorded from Bochs runs (tests/rig/recordings/*.log, raw serial
logs), the client's request/reply matching against a scripted link, the
socket link and the command line.

    tests/rig/test_tessera_client.py      TAP output (as run-tests reads it)
    python3 -m unittest tests/rig/test_tessera_client.py

The recordings' expected contents were counted with grep, not with the
parser: json-session.log (bochs-json: boot, hello, `mode json`, 36 JSON
replies, `mode text`, one text command, JSON again), garbage.log
(bochs-garbage: garbage echoed in text mode, then JSON replies to garbage),
flood.log (bochs-flood: JSON replies between 91 flood lines), events.log
(bochs-scrub with JSON events: 22 replies, 9 console, 8 state, 13 log events).
"""
import io
import json
import os
import random
import socket
import sys
import tempfile
import threading
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import tessera_client as tc  # noqa: E402

RECORDINGS = os.path.join(HERE, "recordings")


def recording(name: str) -> bytes:
    with open(os.path.join(RECORDINGS, name), "rb") as f:
        return f.read()


def parse(data: bytes, pieces=None) -> list:
    """Feeds data to a new parser, whole or in the given piece lengths."""
    parser = tc.StreamParser()
    items, at = [], 0
    for length in pieces or [len(data)]:
        items += parser.feed(data[at:at + length])
        at += length
    items += parser.feed(data[at:])
    return items


def of_type(items, kind):
    return [i for i in items if isinstance(i, kind)]


class FakeClock:
    """A clock that advances only when the link is read."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class ScriptedLink:
    """A link whose other end answers each line written with given bytes.

    `answers` maps a typed line (without CR) to the bytes that come back;
    unknown lines get nothing. `pending` holds bytes not yet read; every read
    advances the fake clock by the wait (or 0.01 s when data is there)."""

    def __init__(self, clock, answers=None, initial=b""):
        self.clock = clock
        self.answers = answers or {}
        self.pending = initial
        self.written = b""
        self.typed = b""

    def read(self, wait):
        if not self.pending:
            self.clock.now += wait
            return b""
        self.clock.now += 0.01
        chunk, self.pending = self.pending[:7], self.pending[7:]  # small pieces on purpose
        return chunk

    def write(self, data, pause=None):
        self.written += data
        self.typed += data
        while b"\r" in self.typed:
            line, _, self.typed = self.typed.partition(b"\r")
            self.pending += self.answers.get(line.decode(), b"")


def reply_line(seq, command, status="ok", **fields) -> bytes:
    obj = {"seq": seq, "status": status, "reply": command, **fields}
    return json.dumps(obj, separators=(",", ":")).encode() + b"\r\n"


# --------------------------------------------------------------------------
# The parser on recordings
# --------------------------------------------------------------------------
class RecordedStreams(unittest.TestCase):
    def test_json_session_replies(self):
        items = parse(recording("json-session.log"))
        replies = of_type(items, tc.Reply)
        # 36 replies, `mode text` and `version` in text mode (seq 37, 38), then 2 more.
        self.assertEqual([r.seq for r in replies], list(range(1, 37)) + [39, 40])
        self.assertEqual(of_type(items, tc.Malformed), [])
        self.assertEqual(replies[0].command, "mode")
        self.assertEqual(replies[0]["mode"], "json")
        listed = next(r for r in replies if r.command == "list")
        self.assertEqual([p["name"] for p in listed["partitions"]], ["hello", "echo"])
        self.assertEqual(listed["partitions"][0]["memory_bytes"], 16 << 20)
        errors = [r for r in replies if not r.ok]
        self.assertEqual(len(errors), 12)
        self.assertTrue(all(r.error for r in errors))
        config = next(r for r in replies if r.command == "config")
        self.assertTrue(config.missing_feature)
        self.assertFalse(listed.missing_feature)

    def test_json_session_text(self):
        items = parse(recording("json-session.log"))
        texts = [t.text for t in of_type(items, tc.TextLine)]
        self.assertIn("tessera: console: type 'help' and Enter for the operator's commands", texts)
        self.assertTrue(any(tc.BANNER.search(t) for t in texts))
        # OVMF's escape sequences are gone from the first line.
        self.assertTrue(texts[0].startswith("BdsDxe: loading Boot0001"), texts[0])
        self.assertIn("mode: text", texts)
        hello = "".join(tc._console_piece(i, "hello") for i in items)
        self.assertEqual(hello.count("\n"), 14)
        self.assertTrue(hello.startswith("hello from a Tessera test guest\n"))
        self.assertTrue(hello.endswith("all checks passed\n"))

    def test_garbage_replies(self):
        items = parse(recording("garbage.log"))
        replies = of_type(items, tc.Reply)
        self.assertEqual([r.seq for r in replies], list(range(9, 23)))
        self.assertEqual(of_type(items, tc.Malformed), [])
        line = next(r for r in replies if r.command == "line")
        self.assertFalse(line.ok)
        self.assertEqual(line.error, "line too long (at most 127 characters); ignored")
        odd = replies[1]
        self.assertEqual(odd.command, "D3-Tjy=|',NSn1W/JAe")
        self.assertEqual(odd.error, "unknown command 'D3-Tjy=|',NSn1W/JAe' (try help)")

    def test_flood_interleaving(self):
        items = parse(recording("flood.log"))
        self.assertEqual([r.seq for r in of_type(items, tc.Reply)], [1, 2, 3, 4])
        flood = "".join(tc._console_piece(i, "flood") for i in items)
        numbers = [int(line.split()[0]) for line in flood.splitlines()]
        self.assertEqual(numbers, list(range(91)))
        self.assertEqual("".join(tc._console_piece(i, "quiet") for i in items), "line 1 of 30\n")

    def test_events(self):
        items = parse(recording("events.log"))
        self.assertEqual(of_type(items, tc.Malformed), [])
        self.assertEqual([r.seq for r in of_type(items, tc.Reply)], list(range(1, 23)))
        events = of_type(items, tc.Event)
        kinds = [e.kind for e in events]
        self.assertEqual((kinds.count("console"), kinds.count("state"), kinds.count("log")), (9, 8, 13))
        changes = [e["change"] for e in events if e.kind == "state"]
        self.assertEqual(changes, ["paused", "resumed"] + ["stopped", "restarted"] * 3)
        self.assertTrue(all(e.partition == "scrub" for e in events if e.kind != "log"))
        # Four lives: the first in text mode (lines), three in JSON (chunks).
        life = ("boot: 7532 KiB at 0x00105000-0x0085ffff all zero\n"
                "marker: written and read back over 7532 KiB\nidle: spinning until stopped\n")
        self.assertEqual("".join(tc._console_piece(i, "scrub") for i in items), life * 4)
        mem = [r for r in of_type(items, tc.Reply) if r.command == "mem"]
        self.assertEqual([r.ok for r in mem], [True, True, True, False])
        self.assertEqual(mem[0]["data"], "0150924dc53670c6891d4e3f4d042cb8")

    def test_any_chunking_gives_the_same_items(self):
        rng = random.Random(7)
        for name in ("json-session.log", "garbage.log", "flood.log", "events.log"):
            data = recording(name)
            whole = [(type(i), i.raw) for i in parse(data)]
            byte_by_byte = [(type(i), i.raw) for i in parse(data, [1] * len(data))]
            self.assertEqual(byte_by_byte, whole, name)
            for _ in range(5):
                pieces = [rng.randint(1, 300) for _ in range(len(data) // 50)]
                self.assertEqual([(type(i), i.raw) for i in parse(data, pieces)], whole, name)

    def test_partial_line_is_kept(self):
        parser = tc.StreamParser()
        self.assertEqual(parser.feed(b'{"seq":1,"status":"ok",'), [])
        self.assertEqual(parser.partial, '{"seq":1,"status":"ok",')
        items = parser.feed(b'"reply":"version","version":"0.1.0"}\r\ntessera> ')
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0].seq, 1)
        self.assertEqual(parser.partial, "")  # a bare prompt is no text


# --------------------------------------------------------------------------
# Classifying single lines
# --------------------------------------------------------------------------
class Classify(unittest.TestCase):
    def test_events(self):
        state = tc.classify('{"event":"state","partition":"web","change":"started","state":"running"}')
        self.assertIsInstance(state, tc.Event)
        self.assertEqual((state.kind, state.partition, state["state"]), ("state", "web", "running"))
        console = tc.classify('{"event":"console","partition":"web","data":"a\\u001b[2Jb\\n\\u00ff"}')
        self.assertEqual(console["data"], "a\x1b[2Jb\n\xff")
        log = tc.classify('{"event":"log","text":"partition web stopped: exit code 0"}')
        self.assertIsNone(log.partition)
        self.assertEqual(log["text"], "partition web stopped: exit code 0")

    def test_malformed(self):
        cases = {
            '{"seq":1,"status":"ok","reply":"list"': "not JSON",
            '{"seq":0,"status":"ok","reply":"x"}': "positive integer",
            '{"seq":true,"status":"ok","reply":"x"}': "positive integer",
            '{"seq":"1","status":"ok","reply":"x"}': "positive integer",
            '{"seq":1,"status":"fine","reply":"x"}': "status",
            '{"seq":1,"status":"ok"}': "reply",
            '{"seq":1,"status":"error","reply":"x"}': "error",
            '{"event":7}': "not a string",
            '{"hello":1}': "neither",
            '{}': "neither",
        }
        for line, reason in cases.items():
            item = tc.classify(line)
            self.assertIsInstance(item, tc.Malformed, line)
            self.assertIn(reason, item.reason, line)
        self.assertIsInstance(tc.classify("[1, 2]"), tc.TextLine)  # not '{': text

    def test_text_lines(self):
        overwritten = tc.classify("tessera> ver\r\x1b[Khello: ok\r")
        self.assertEqual(overwritten.text, "hello: ok")
        line = tc.classify("\r\x1b[Ktessera> tessera> hello: ok: CPUID\x07 signature")
        self.assertIsInstance(line, tc.TextLine)
        self.assertEqual(line.text, "hello: ok: CPUID signature")
        self.assertEqual(line.console_of("hello"), "ok: CPUID signature")
        self.assertIsNone(line.console_of("hell"))
        self.assertEqual(tc.StreamParser().feed(b"\xff\xfeab\r\n")[0].text, "\ufffd\ufffdab")

    def test_reply_helpers(self):
        missing = tc.classify('{"seq":4,"status":"error","reply":"pause","error":"pause: not available in this build"}')
        self.assertTrue(missing.missing_feature)
        unknown = tc.classify('{"seq":4,"status":"error","reply":"cpus","error":"unknown command \'cpus\' (try help)"}')
        self.assertTrue(unknown.missing_feature)
        other = tc.classify('{"seq":4,"status":"error","reply":"info","error":"info: no partition named \'x\'"}')
        self.assertFalse(other.missing_feature)
        self.assertFalse(other.ok)


# --------------------------------------------------------------------------
# The client against a scripted link
# --------------------------------------------------------------------------
class ClientRequests(unittest.TestCase):
    def make(self, answers, initial=b""):
        clock = FakeClock()
        link = ScriptedLink(clock, answers, initial)
        return tc.Client(link, clock=clock), link

    def test_banner_mode_and_requests(self):
        answers = {
            "mode json": b"mode json\r\n" + reply_line(3, "mode", mode="json"),
            "list": b'{"event":"console","partition":"web","data":"boot\\n"}\r\n'
                    + reply_line(4, "list", partitions=[]),
            "info nosuch": reply_line(5, "info", "error", error="info: no partition named 'nosuch'"),
            "pause web": reply_line(6, "pause", "error", error="pause: not available in this build"),
        }
        client, link = self.make(answers, b"BdsDxe: starting\r\ntessera: console: type 'help' and Enter for the operator's commands\r\n")
        client.wait_banner(5)
        self.assertEqual(client.enter_json_mode().seq, 3)
        self.assertEqual(client.next_seq, 4)
        reply = client.request("list")
        self.assertEqual((reply.seq, reply.command, reply.request), (4, "list", "list"))
        self.assertEqual(client.events("console", "web")[0]["data"], "boot\n")
        self.assertEqual(client.console_output("web"), "boot\n")
        with self.assertRaises(tc.RequestFailed) as failed:
            client.call("info nosuch")
        self.assertEqual(failed.exception.reply.seq, 5)
        with self.assertRaises(tc.FeatureMissing):
            client.call("pause web")
        self.assertEqual(link.written, b"mode json\rlist\rinfo nosuch\rpause web\r")

    def test_seq_mismatch_is_a_protocol_error(self):
        answers = {"mode json": reply_line(1, "mode", mode="json"),
                   "list": reply_line(3, "list", partitions=[])}
        client, _ = self.make(answers)
        client.enter_json_mode()
        with self.assertRaises(tc.ProtocolError) as e:
            client.request("list")
        self.assertIn("got seq 3 first", str(e.exception))

    def test_reply_to_another_command_is_a_protocol_error(self):
        answers = {"mode json": reply_line(1, "mode", mode="json"),
                   "list": reply_line(2, "info", partitions=[])}
        client, _ = self.make(answers)
        client.enter_json_mode()
        with self.assertRaises(tc.ProtocolError) as e:
            client.request("list")
        self.assertIn("answers 'info', not 'list'", str(e.exception))

    def test_timeout_names_what_was_awaited(self):
        answers = {"mode json": reply_line(1, "mode", mode="json")}
        client, _ = self.make(answers)
        client.enter_json_mode()
        with self.assertRaises(tc.WaitTimeout) as e:
            client.request("stats", timeout=2)
        message = str(e.exception)
        self.assertIn("timed out after 2 s waiting for reply 2 (to 'stats')", message)
        self.assertIn('"reply":"mode"', message)  # the last thing received
        with self.assertRaises(tc.WaitTimeout) as e:
            client.wait_console("web", r"^login: $", 1)
        self.assertIn("/^login: $/ in the console output of web", str(e.exception))

    def test_raw_bytes_forget_the_count(self):
        answers = {"mode json": reply_line(1, "mode", mode="json"),
                   "garbage": reply_line(2, "garbage", "error", error="unknown command 'garbage' (try help)"),
                   "version": reply_line(3, "version", version="0.1.0")}
        client, _ = self.make(answers)
        client.enter_json_mode()
        client.send_raw(b"\x00\x1b[Agarbage\r")
        self.assertIsNone(client.next_seq)
        reply = client.request("version")
        self.assertEqual(reply.seq, 3)
        self.assertEqual(client.next_seq, 4)

    def test_requests_need_json_mode(self):
        client, _ = self.make({})
        with self.assertRaises(tc.ClientError):
            client.request("list")
        with self.assertRaises(ValueError):
            client.send_line("two\rlines")

    def test_wait_console_across_event_chunks(self):
        initial = (b'{"event":"console","partition":"echo","data":"got li"}\r\n'
                   b'{"event":"console","partition":"other","data":"ne 1"}\r\n'
                   b'{"event":"console","partition":"echo","data":"ne 1: \'x\'\\n"}\r\n')
        client, _ = self.make({}, initial)
        out = client.wait_console("echo", r"^got line 1: 'x'$", 5)
        self.assertEqual(out, "got line 1: 'x'\n")

    def test_latency(self):
        answers = {"mode json": reply_line(1, "mode", mode="json"),
                   "version": reply_line(2, "version", version="0.1.0")}
        client, _ = self.make(answers)
        client.enter_json_mode()
        reply = client.request("version")
        reads = -(-len(answers["version"]) // 7)  # the link returns 7 bytes a read
        self.assertAlmostEqual(reply.latency, 0.01 * reads, places=6)


# --------------------------------------------------------------------------
# The socket link and the command line, against a fake shell
# --------------------------------------------------------------------------
class FakeShell(threading.Thread):
    """Serves one connection on a Unix socket: answers `mode json`, `list`
    and anything else (an error), counting lines as the shell does."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(path)
        self.server.listen(1)

    def run(self):
        conn, _ = self.server.accept()
        seq, buf = 0, b""
        conn.sendall(b'{"event":"log","text":"partition web started"}\r\n')
        while True:
            data = conn.recv(100)
            if not data:
                break
            buf += data
            while b"\r" in buf:
                line, _, buf = buf.partition(b"\r")
                word = line.decode().split()[0]
                seq += 1
                if word == "mode":
                    conn.sendall(reply_line(seq, "mode", mode="json"))
                elif word == "list":
                    conn.sendall(reply_line(seq, "list", partitions=[{"name": "web"}]))
                elif word == "bye":
                    conn.close()
                    self.server.close()
                    return
                else:
                    conn.sendall(reply_line(seq, word, "error", error=f"unknown command '{word}'"))
        conn.close()
        self.server.close()


class SocketAndCommandLine(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "serial.sock")
        FakeShell(self.path).start()

    def tearDown(self):
        self.dir.cleanup()

    def cli(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = tc.main(list(argv))
        return status, out.getvalue(), err.getvalue()

    def test_socket_link(self):
        link = tc.SocketLink("unix:" + self.path)
        client = tc.Client(link)
        self.assertEqual(client.enter_json_mode(5).seq, 1)
        self.assertEqual(client.call("list", 5)["partitions"], [{"name": "web"}])
        self.assertEqual(client.events("log")[0]["text"], "partition web started")
        client.send_line("bye")
        with self.assertRaises(tc.LinkClosed):
            client.pump(5)
            client.pump(5)
        link.close()

    def test_cli_ok(self):
        status, out, _ = self.cli("unix:" + self.path, "list", "-t", "5")
        self.assertEqual(status, 0)
        lines = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(lines[-1]["reply"], "list")
        self.assertEqual(lines[-1]["partitions"], [{"name": "web"}])
        self.assertIn({"event": "log", "text": "partition web started"}, lines)

    def test_cli_error_reply(self):
        status, out, _ = self.cli("unix:" + self.path, "--quiet", "list", "frob")
        self.assertEqual(status, 1)
        self.assertEqual([json.loads(l)["reply"] for l in out.splitlines()], ["list", "frob"])

    def test_cli_bad_address(self):
        self.assertEqual(self.cli("serial:/dev/ttyS0")[0], 2)
        status, _, err = self.cli("unix:" + self.path + ".missing")
        self.assertEqual(status, 2)
        self.assertIn("cannot connect", err)


# --------------------------------------------------------------------------
# TAP output for tests/rig/run-tests
# --------------------------------------------------------------------------
class TapResult(unittest.TestResult):
    """Prints one TAP line per test case."""

    def __init__(self, total):
        super().__init__()
        self.number = 0
        print(f"1..{total}", flush=True)

    def addSuccess(self, test):
        self.number += 1
        print(f"ok {self.number} - {test.id()}", flush=True)

    def _not_ok(self, test, err):
        self.number += 1
        print(f"not ok {self.number} - {test.id()}", flush=True)
        for line in self._exc_info_to_string(err, test).splitlines():
            print(f"# {line}", flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._not_ok(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._not_ok(test, err)

    def addSkip(self, test, reason):
        self.number += 1
        print(f"ok {self.number} - {test.id()} # SKIP {reason}", flush=True)


def main() -> int:
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = TapResult(suite.countTestCases())
    suite.run(result)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
