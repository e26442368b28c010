#!/usr/bin/env python3
"""Host-side client of Tessera's machine protocol on the serial console.

After `mode json` the operator's shell (hv/shell.c) answers every request
with one JSON object on one line,

    {"seq":7,"status":"ok","reply":"list","partitions":[...]}
    {"seq":8,"status":"error","reply":"info","error":"info: no partition named 'x'"}

where seq counts the non-empty lines the shell was sent (from 1, whatever
mode they came in), and reports what happens meanwhile as event objects,

    {"event":"state","partition":"web","state":"running"}
    {"event":"console","partition":"web","data":"login: "}
    {"event":"log","text":"partition web stopped: exit code 0"}

Lines that are not JSON objects (text mode, the firmware, or output that a
build prints as text even in JSON mode) are kept as text lines.

The library (import it): StreamParser turns bytes into Reply, Event, TextLine
and Malformed items; Client drives a link (anything with read(wait) -> bytes
and write(data, pause=None)), sends requests, matches each reply to its
request by sequence number and keeps every event that arrived meanwhile.
Every wait has a timeout, and a WaitTimeout names what was awaited.

The command line (use it): connect to a serial console exposed as a socket
(`tests/rig/emu --serial-socket PATH` does that for Bochs and QEMU), switch
to JSON mode and run commands, printing each reply as one JSON line:

    tests/rig/tessera_client.py unix:build/emu/serial.sock list "info hello"
    tests/rig/tessera_client.py --events 30 tcp:localhost:4555

Exit status: 0 every reply was ok, 1 a reply was an error, 2 bad arguments
or no connection, 3 a timeout or protocol error.
"""
from __future__ import annotations

import argparse
import json
import re
import select
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Union

# The log line the shell's console prints once it takes commands (hv/operator.c):
# until then the firmware owns the UART and typed bytes may go astray.
BANNER = re.compile(r"tessera: console: type 'help' and Enter")
# The text-mode prompt; in text mode events and echoes share its line.
PROMPT = "tessera> "
# What a reply says when the build has no such command (unknown command) or
# has it but cannot do it yet (shell backend member missing).
MISSING_FEATURE = re.compile(r"unknown command|not available in this build")
# Detach from an attached console (telnet's and xl console's escape).
CTRL_RIGHT_BRACKET = b"\x1d"

_ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
class ClientError(Exception):
    """Something went wrong talking to Tessera."""


class WaitTimeout(ClientError):
    """What was awaited did not arrive in time."""


class ProtocolError(ClientError):
    """Tessera answered something the protocol does not allow."""


class LinkClosed(ClientError):
    """The other end of the link went away."""


class RequestFailed(ClientError):
    """A request was answered with status "error"."""

    def __init__(self, reply: "Reply"):
        super().__init__(f"'{reply.request}' failed: {reply.error}")
        self.reply = reply


class FeatureMissing(RequestFailed):
    """The build has no such command, or cannot do it yet."""

    def __init__(self, reply: "Reply"):
        super().__init__(reply)
        self.args = (f"'{reply.request}' is not in this build: {reply.error}",)


# --------------------------------------------------------------------------
# What arrives
# --------------------------------------------------------------------------
@dataclass
class Reply:
    """The answer to one request."""
    seq: int
    status: str                # "ok" or "error"
    command: str               # the "reply" member: the request's first word
    fields: dict               # the whole object
    raw: str
    at: float                  # when it arrived (the client's clock)
    request: str = ""          # the line that was sent, once matched
    sent_at: float | None = None  # when its last byte was sent, once matched

    @property
    def latency(self) -> float | None:
        """Seconds from the request's last byte to the reply's arrival."""
        return None if self.sent_at is None else self.at - self.sent_at

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def error(self) -> str:
        return str(self.fields.get("error", ""))

    @property
    def missing_feature(self) -> bool:
        """True when the error says the build has no such command (yet)."""
        return not self.ok and bool(MISSING_FEATURE.search(self.error))

    def __getitem__(self, key: str):
        return self.fields[key]

    def get(self, key: str, default=None):
        return self.fields.get(key, default)


@dataclass
class Event:
    """Something Tessera reports on its own: a state change, console output, a log line."""
    kind: str                  # the "event" member: "state", "console", "log", ...
    fields: dict
    raw: str
    at: float

    @property
    def partition(self) -> str | None:
        value = self.fields.get("partition")
        return value if isinstance(value, str) else None

    def __getitem__(self, key: str):
        return self.fields[key]

    def get(self, key: str, default=None):
        return self.fields.get(key, default)


@dataclass
class TextLine:
    """A line that is not a JSON object: text mode, the firmware, partition text."""
    text: str                  # without escapes, control bytes and leading prompts
    raw: str
    at: float

    def console_of(self, partition: str) -> str | None:
        """The text after "PARTITION: " when the line is that partition's, else None."""
        prefix = partition + ": "
        return self.text[len(prefix):] if self.text.startswith(prefix) else None


@dataclass
class Malformed:
    """A line that looks like JSON but is not a reply or event."""
    raw: str
    reason: str
    at: float


Item = Union[Reply, Event, TextLine, Malformed]


def _clean_text(raw: str) -> str:
    """A text line as a person reads it: no escapes, no control bytes, no prompts."""
    text = _CONTROL.sub("", _ESCAPE.sub("", raw))
    while text.startswith(PROMPT):
        text = text[len(PROMPT):]
    return text


def classify(raw: str, at: float = 0.0) -> Item:
    """One received line (without its line end) as a protocol item."""
    # A text-mode event starts with CR + erase-line (over a prompt); a JSON
    # line has neither. As on a terminal, what follows the last CR is the line.
    body = raw.rstrip("\r").rpartition("\r")[2]
    if not body.startswith("{"):
        return TextLine(_clean_text(body), raw, at)
    try:
        obj = json.loads(body)
    except ValueError as e:
        return Malformed(raw, f"not JSON: {e}", at)
    if not isinstance(obj, dict):
        return Malformed(raw, "not a JSON object", at)
    if "event" in obj:
        if not isinstance(obj["event"], str):
            return Malformed(raw, "\"event\" is not a string", at)
        return Event(obj["event"], obj, raw, at)
    if "seq" in obj:
        seq, status, command = obj.get("seq"), obj.get("status"), obj.get("reply")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            return Malformed(raw, "\"seq\" is not a positive integer", at)
        if status not in ("ok", "error"):
            return Malformed(raw, f"\"status\" is {status!r}, not \"ok\" or \"error\"", at)
        if not isinstance(command, str):
            return Malformed(raw, "\"reply\" is missing or not a string", at)
        if status == "error" and not isinstance(obj.get("error"), str):
            return Malformed(raw, "an error reply without an \"error\" string", at)
        return Reply(seq, status, command, obj, raw, at)
    return Malformed(raw, "neither a reply (\"seq\") nor an event (\"event\")", at)


class StreamParser:
    """Cuts the serial byte stream into lines and classifies each.

    Bytes may arrive in any pieces; a line is complete at its LF (a CR before
    it is dropped). Bytes are decoded as UTF-8 with replacement: Tessera's
    JSON is plain ASCII, and anything else is text for people."""

    def __init__(self):
        self._partial = b""

    def feed(self, data: bytes, at: float = 0.0) -> list[Item]:
        """Adds received bytes; returns the items of the lines they completed."""
        self._partial += data
        *lines, self._partial = self._partial.split(b"\n")
        return [classify(line.decode("utf-8", "replace").rstrip("\r"), at) for line in lines]

    @property
    def partial(self) -> str:
        """The incomplete last line (e.g. a prompt), as text."""
        return _clean_text(self._partial.decode("utf-8", "replace").strip("\r"))


# --------------------------------------------------------------------------
# Links
# --------------------------------------------------------------------------
class SocketLink:
    """A serial console exposed as a stream socket: unix:PATH or tcp:HOST:PORT."""

    def __init__(self, address: str, connect_timeout: float = 10.0):
        kind, _, rest = address.partition(":")
        if kind == "unix" and rest:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: object = rest
        elif kind == "tcp" and rest.rpartition(":")[0]:
            host, _, port = rest.rpartition(":")
            self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            target = (host.strip("[]"), int(port))
        else:
            raise ValueError(f"bad address {address!r} (unix:PATH or tcp:HOST:PORT)")
        self.sock.settimeout(connect_timeout)
        try:
            self.sock.connect(target)
        except OSError as e:
            self.sock.close()
            raise LinkClosed(f"cannot connect to {address}: {e}") from None
        self.sock.setblocking(False)
        self.address = address

    def read(self, wait: float) -> bytes:
        ready, _, _ = select.select([self.sock], [], [], max(wait, 0))
        if not ready:
            return b""
        data = self.sock.recv(65536)
        if not data:
            raise LinkClosed(f"{self.address} closed the connection")
        return data

    def write(self, data: bytes, pause: float | None = None) -> None:
        """Sends data; with pause > 0, one byte at a time with that pause between."""
        chunks = [data] if not pause else [bytes([b]) for b in data]
        for chunk in chunks:
            self.sock.setblocking(True)
            try:
                self.sock.sendall(chunk)
            except OSError as e:
                raise LinkClosed(f"{self.address}: {e}") from None
            finally:
                self.sock.setblocking(False)
            if pause:
                time.sleep(pause)

    def close(self) -> None:
        self.sock.close()


# --------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------
class Client:
    """One program's session with the shell over a link.

    Everything received is kept in `items`, in order. Waits search the items
    from a given index on and read more until a predicate holds or a timeout
    passes. Requests need JSON mode (enter_json_mode()); replies are matched
    by sequence number once one JSON reply has shown where the count is."""

    def __init__(self, link, transcript=None, clock: Callable[[], float] = time.monotonic):
        self.link = link
        self.parser = StreamParser()
        self.items: list[Item] = []
        self.clock = clock
        self.transcript = transcript     # a text file, or None
        self.next_seq: int | None = None  # the seq the next non-empty line will get
        self.json_mode = False
        self._start = clock()

    # ---- receiving ----------------------------------------------------
    def pump(self, wait: float) -> list[Item]:
        """Reads what arrives within `wait` seconds (returns at the first bytes)."""
        data = self.link.read(wait)
        if not data:
            return []
        new = self.parser.feed(data, self.clock())
        self.items.extend(new)
        for item in new:
            self._log("<", item.raw)
        return new

    def wait_for(self, predicate: Callable[[Item], bool], timeout: float, what: str,
                 since: int = 0) -> Item:
        """The first item from index `since` on that satisfies predicate; reads
        until one arrives, or raises WaitTimeout naming `what`."""
        deadline = self.clock() + timeout
        checked = since
        while True:
            for i in range(checked, len(self.items)):
                if predicate(self.items[i]):
                    return self.items[i]
            checked = max(checked, len(self.items))
            left = deadline - self.clock()
            if left <= 0:
                raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what}{self._last_seen()}")
            self.pump(min(left, 0.5))

    def wait_text(self, pattern: str, timeout: float, since: int = 0, what: str | None = None) -> TextLine:
        """The first text line from `since` on whose text matches the regex."""
        rx = re.compile(pattern)
        return self.wait_for(lambda i: isinstance(i, TextLine) and bool(rx.search(i.text)),
                             timeout, what or f"a line matching /{pattern}/", since)

    def wait_event(self, kind: str, timeout: float, since: int = 0,
                   match: Callable[[Event], bool] = lambda e: True, what: str | None = None) -> Event:
        """The first event of `kind` from `since` on that `match` accepts."""
        return self.wait_for(lambda i: isinstance(i, Event) and i.kind == kind and match(i),
                             timeout, what or f"a '{kind}' event", since)

    def drain(self, seconds: float) -> None:
        """Keeps reading for `seconds` (to collect events)."""
        deadline = self.clock() + seconds
        while (left := deadline - self.clock()) > 0:
            self.pump(min(left, 0.5))

    def mark(self) -> int:
        """An index for `since`: only what arrives from now on."""
        return len(self.items)

    # ---- sending ------------------------------------------------------
    def send_raw(self, data: bytes, pause: float | None = None, in_sync: bool = False) -> None:
        """Sends bytes as they are (pause: seconds between bytes, None: the
        link's default). Unless in_sync, the reply count is forgotten: the
        bytes may make the shell count lines."""
        self._log(">", repr(data))
        self.link.write(data, pause)
        if not in_sync:
            self.next_seq = None

    def send_line(self, text: str, pause: float | None = None) -> int:
        """Types a line and Enter (CR); returns the index of what follows."""
        if "\r" in text or "\n" in text:
            raise ValueError("a line cannot hold CR or LF")
        mark = self.mark()
        self._log(">", text)
        self.link.write(text.encode() + b"\r", pause)
        if self.next_seq is not None and text.strip(" "):
            self.next_seq += 1
        if text.split() == ["mode", "text"]:
            self.json_mode = False
        return mark

    def wait_banner(self, timeout: float = 180) -> TextLine:
        """Waits until the shell takes commands (its console banner)."""
        return self.wait_text(BANNER.pattern, timeout, what="Tessera's console banner")

    def enter_json_mode(self, timeout: float = 30) -> Reply:
        """Sends `mode json` (from text or JSON mode) and learns the reply count."""
        mark = self.send_line("mode json")
        self.next_seq = None
        reply = self.wait_for(lambda i: isinstance(i, Reply) and i.command == "mode",
                              timeout, "the reply to 'mode json'", mark)
        assert isinstance(reply, Reply)
        if not reply.ok or reply.get("mode") != "json":
            raise ProtocolError(f"'mode json' answered {reply.raw}")
        reply.request = "mode json"
        self.next_seq = reply.seq + 1
        self.json_mode = True
        return reply

    def request(self, line: str, timeout: float = 30) -> Reply:
        """Sends one request line and returns its reply (ok or error).

        With the count known, the reply is the one with the next sequence
        number, and it must answer this command; without (after raw bytes),
        it is the first reply to this command that arrives."""
        if not self.json_mode:
            raise ClientError("requests need JSON mode (enter_json_mode())")
        words = line.split()
        if not words:
            raise ValueError("an empty request")
        expected = self.next_seq
        mark = self.send_line(line)
        sent_at = self.clock()
        if expected is not None:
            what = f"reply {expected} (to '{line}')"
            reply = self.wait_for(lambda i: isinstance(i, Reply) and i.seq >= expected,
                                  timeout, what, mark)
            assert isinstance(reply, Reply)
            if reply.seq != expected:
                raise ProtocolError(f"waiting for {what}, got seq {reply.seq} first: {reply.raw}")
        else:
            reply = self.wait_for(lambda i: isinstance(i, Reply) and i.command == words[0],
                                  timeout, f"the reply to '{line}'", mark)
            assert isinstance(reply, Reply)
            self.next_seq = reply.seq + 1
        if reply.command != words[0] and not (reply.command == "line" and not reply.ok):
            raise ProtocolError(f"reply {reply.seq} answers '{reply.command}', not '{words[0]}': {reply.raw}")
        reply.request = line
        reply.sent_at = sent_at
        return reply

    def call(self, line: str, timeout: float = 30) -> Reply:
        """request(), raising FeatureMissing or RequestFailed unless the reply is ok."""
        reply = self.request(line, timeout)
        if reply.missing_feature:
            raise FeatureMissing(reply)
        if not reply.ok:
            raise RequestFailed(reply)
        return reply

    # ---- what was received --------------------------------------------
    def replies(self, since: int = 0) -> list[Reply]:
        return [i for i in self.items[since:] if isinstance(i, Reply)]

    def events(self, kind: str | None = None, partition: str | None = None,
               since: int = 0) -> list[Event]:
        return [i for i in self.items[since:] if isinstance(i, Event)
                and (kind is None or i.kind == kind) and (partition is None or i.partition == partition)]

    def text_lines(self, since: int = 0) -> list[TextLine]:
        return [i for i in self.items[since:] if isinstance(i, TextLine)]

    def malformed(self, since: int = 0) -> list[Malformed]:
        return [i for i in self.items[since:] if isinstance(i, Malformed)]

    def console_output(self, partition: str, since: int = 0) -> str:
        """What a partition printed, from its console events (their data as
        sent) and from text lines "PARTITION: text" (each with its LF)."""
        return "".join(_console_piece(item, partition) for item in self.items[since:])

    def wait_console(self, partition: str, pattern: str, timeout: float, since: int = 0,
                     what: str | None = None) -> str:
        """Waits until the partition's console output from `since` on matches
        the regex (multi-line: ^ and $ match at its line ends); returns that output."""
        rx = re.compile(pattern, re.M)
        deadline = self.clock() + timeout
        pieces: list[str] = []
        scanned = since
        while True:
            pieces.extend(_console_piece(item, partition) for item in self.items[scanned:])
            scanned = len(self.items)
            output = "".join(pieces)
            if rx.search(output):
                return output
            left = deadline - self.clock()
            if left <= 0:
                tail = output[-200:] if output else "(nothing)"
                raise WaitTimeout(f"timed out after {timeout:g} s waiting for "
                                  f"{what or f'/{pattern}/ in the console output of {partition}'}"
                                  f"; its output meanwhile ends {tail!r}{self._last_seen()}")
            self.pump(min(left, 0.5))

    def seconds(self) -> float:
        """Seconds since the client was made."""
        return self.clock() - self._start

    # ---- internals ----------------------------------------------------
    def _last_seen(self) -> str:
        shown = [i.raw for i in self.items[-3:]]
        if self.parser.partial:
            shown.append(self.parser.partial + " (incomplete)")
        if not shown:
            return "; nothing received"
        return "; last received: " + " | ".join(repr(s[:160]) for s in shown)

    def _log(self, direction: str, text: str) -> None:
        if self.transcript is not None:
            shown = repr(text) if _CONTROL.search(text.replace("\x1b[K", "")) else text
            self.transcript.write(f"{self.seconds():9.3f} {direction} {shown}\n")
            self.transcript.flush()


def _console_piece(item: Item, partition: str) -> str:
    """What an item holds of a partition's console output ("" if nothing)."""
    if isinstance(item, Event) and item.kind == "console" and item.partition == partition:
        return str(item.get("data", ""))
    if isinstance(item, TextLine) and (text := item.console_of(partition)) is not None:
        return text + "\n"
    return ""


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------
def _print_item(item: Item) -> None:
    print(item.raw if not isinstance(item, TextLine) else json.dumps({"text": item.text}), flush=True)


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Each reply and event is printed as one JSON line; "
                                        "text lines as {\"text\": ...}.")
    ap.add_argument("address", help="unix:PATH or tcp:HOST:PORT")
    ap.add_argument("commands", nargs="*", help="request lines, sent in order")
    ap.add_argument("-t", "--timeout", type=float, default=30, help="seconds per reply (default 30)")
    ap.add_argument("--banner", type=float, default=0, metavar="SECONDS",
                    help="first wait this long for the console banner (a machine still booting)")
    ap.add_argument("--events", type=float, default=0, metavar="SECONDS",
                    help="after the commands, print events for this long")
    ap.add_argument("--pause", type=float, default=None,
                    help="seconds between typed bytes (default: none, the link paces)")
    ap.add_argument("--quiet", action="store_true", help="print replies only, not events met meanwhile")
    args = ap.parse_intermixed_args(argv)
    try:
        link = SocketLink(args.address)
    except (ValueError, LinkClosed) as e:
        print(f"tessera_client: {e}", file=sys.stderr)
        return 2
    if args.pause is not None:
        link_write = link.write
        link.write = lambda data, pause=None: link_write(data, args.pause)  # type: ignore[method-assign]
    client = Client(link)
    failed = False
    try:
        if args.banner > 0:
            client.wait_banner(args.banner)
        mode = client.enter_json_mode(args.timeout)
        for item in client.items:
            if item is not mode and not args.quiet:
                _print_item(item)
        for line in args.commands:
            mark = client.mark()
            reply = client.request(line, args.timeout)
            for item in client.items[mark:]:
                if item is not reply and not args.quiet:
                    _print_item(item)
            _print_item(reply)
            failed |= not reply.ok
        mark = client.mark()
        if args.events > 0:
            deadline = client.clock() + args.events
            while (left := deadline - client.clock()) > 0:
                for item in client.pump(min(left, 0.5)):
                    _print_item(item)
    except (WaitTimeout, ProtocolError, LinkClosed) as e:
        print(f"tessera_client: {e}", file=sys.stderr)
        return 3
    finally:
        link.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
