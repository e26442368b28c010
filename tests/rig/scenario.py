"""Emulator tests written in Python: the `script:` of a tests/emu/*.test file.

A script is a Python file with a function run(t) taking a Scenario. The rig
(run-tests) boots the test's configuration with a two-way serial console and
calls it as soon as the emulator runs; the emulator is stopped when run()
returns. The verdict:

- run() returns, every check held and no feature was missing: PASS;
- a check failed, a wait timed out, the protocol was broken, the emulator
  died or the time limit ran out: FAIL with that message;
- every check held but a command answered "unknown command" or "not
  available in this build" (or JSON events were still text): SKIP, naming
  what is missing, so the test runs in full once the feature lands.

t.client is a tessera_client.Client on the console, its transcript in the
run directory (client.log). Checks stop the script at the first failure.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import re

import tessera_client as tc


# Seconds between two typed bytes (see emulib.SEND_BYTE_PAUSE): Bochs' UART
# holds 16 received bytes and Tessera polls it every millisecond of TSC time
# (hv/sched.c), also while partitions run; a byte every 10 ms lost none in
# these tests, bochs-flood's included (bochs.log reports every lost byte).
TYPING_PAUSE = 0.01


class CheckFailed(Exception):
    """A check of the script did not hold."""


class Skipped(Exception):
    """The script passed all it could check, but the build lacks features."""


class Scenario:
    """What a script works with: the client, checks, notes and missing features."""

    def __init__(self, link, run_dir: str, name: str):
        self.run_dir = run_dir
        self.name = name
        self.transcript = open(os.path.join(run_dir, "client.log"), "w")
        self.client = tc.Client(link, transcript=self.transcript)
        self.link = link
        self.checks = 0
        self.notes: list[str] = []
        self.missing_features: dict[str, str] = {}  # feature -> the first sign of it
        if hasattr(link, "default_pause"):
            link.default_pause = TYPING_PAUSE

    # ---- checks -------------------------------------------------------
    def check(self, condition: object, message: str) -> None:
        """Fails the test with message unless condition holds."""
        self.checks += 1
        if not condition:
            self.log(f"CHECK FAILED: {message}")
            raise CheckFailed(message)

    def equal(self, got: object, expected: object, what: str) -> None:
        """Fails unless got == expected."""
        self.check(got == expected, f"{what}: expected {expected!r}, got {got!r}")

    def in_order(self, what: str, lines: list[str], patterns: list[str]) -> int:
        """Each pattern matches a line after the previous one's; the index after the last.

        For one source of lines at a time (Tessera's log, one partition's
        console): the console interleaves sources in no fixed order."""
        at = 0
        for pattern in patterns:
            rx = re.compile(pattern)
            hit = next((i for i in range(at, len(lines)) if rx.search(lines[i])), None)
            after = " after the previous check's" if at else ""
            self.check(hit is not None, f"{what}: no line matching /{pattern}/{after} ({len(lines)} lines)")
            at = hit + 1
        return at

    def fields(self, obj: dict, types: dict[str, type | tuple], what: str) -> None:
        """Every key of `types` is in obj with a value of that type (int never bool)."""
        for key, kind in types.items():
            self.check(key in obj, f"{what}: no member \"{key}\" in {obj}")
            value = obj[key]
            ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, (int,)))
            self.check(ok, f"{what}: \"{key}\" is {value!r}, not of type {kind}")

    def hex_address(self, value: object, what: str) -> int:
        """A "0x..." string (how the shell writes 64-bit addresses); its value."""
        self.check(isinstance(value, str) and re.fullmatch(r"0x[0-9a-f]+", value),
                   f"{what}: {value!r} is not a lower-case 0x hex string")
        return int(str(value), 16)

    def ok(self, line: str, timeout: float = 30) -> tc.Reply:
        """Sends a request whose reply must be ok; a missing command raises
        FeatureMissing (wrap optional parts in `with t.feature(...)`)."""
        reply = self.client.request(line, timeout)
        if reply.missing_feature:
            raise tc.FeatureMissing(reply)
        self.check(reply.ok, f"'{line}' answered an error: {reply.raw}")
        return reply

    def error(self, line: str, pattern: str, timeout: float = 30) -> tc.Reply:
        """Sends a request whose reply must be an error matching the regex."""
        reply = self.client.request(line, timeout)
        self.check(not reply.ok, f"'{line}' should fail, got {reply.raw}")
        self.check(re.search(pattern, reply.error), f"'{line}': error {reply.error!r} does not match /{pattern}/")
        return reply

    # ---- features not there yet ---------------------------------------
    def missing(self, feature: str, why: str) -> None:
        """Records that the build lacks a feature; the test will SKIP at the end."""
        self.log(f"MISSING: {feature} ({why})")
        self.missing_features.setdefault(feature, why)

    @contextlib.contextmanager
    def feature(self, name: str):
        """Runs a block that needs a feature: if a request in it says the
        build has no such command, the rest of the block is skipped and the
        feature is recorded as missing."""
        try:
            yield
        except tc.FeatureMissing as e:
            self.missing(name, e.reply.error)

    def event_or_text(self, kind: str, match, text_pattern: str, timeout: float, since: int,
                      what: str) -> tc.Event | None:
        """Waits for an event of `kind` that `match` accepts, or for the text
        line (regex) a build without JSON events prints in its place. Returns
        the event; for the text line, records "JSON events" as missing and
        returns None."""
        rx = re.compile(text_pattern)
        item = self.client.wait_for(
            lambda i: (isinstance(i, tc.Event) and i.kind == kind and match(i))
            or (isinstance(i, tc.TextLine) and bool(rx.search(i.text))),
            timeout, f"{what} (a '{kind}' event, or a text line /{text_pattern}/)", since)
        if isinstance(item, tc.Event):
            return item
        self.missing("JSON events", f"in JSON mode, {what} came as the text line {item.text!r}")
        return None

    # ---- notes and log ------------------------------------------------
    def note(self, text: str) -> None:
        """A short fact for the verdict line (e.g. a timing)."""
        self.log(f"NOTE: {text}")
        self.notes.append(text)

    def log(self, text: str) -> None:
        """A line in client.log, between the protocol lines."""
        self.transcript.write(f"{self.client.seconds():9.3f} # {text}\n")
        self.transcript.flush()

    def finish(self) -> str:
        """The verdict once run() returned: a note for PASS, or Skipped."""
        done = f"{self.checks} checks passed"
        if self.missing_features:
            raise Skipped(f"needs {_features(self)}; {done}")
        return "; ".join([done, *self.notes])

    def close(self) -> None:
        self.transcript.close()


def load(path: str):
    """Imports a script file as a module of its own."""
    name = "scenario_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise ImportError(f"{path} defines no run(t)")
    return module


def run_script(path: str, link, run_dir: str, name: str) -> str:
    """Runs a script's run(t) on the link: returns the PASS note, or raises
    Skipped, CheckFailed or whatever stopped it."""
    module = load(path)
    t = Scenario(link, run_dir, name)
    try:
        module.run(t)
        return t.finish()
    except tc.FeatureMissing as e:
        # Not inside `with t.feature(...)`: the rest of the script needed it.
        t.missing(e.reply.request.split()[0] if e.reply.request else e.reply.command, e.reply.error)
        raise Skipped(f"needs {_features(t)}; {t.checks} checks passed before that") from None
    except Skipped:
        raise
    except Exception as e:
        t.log(f"STOPPED: {type(e).__name__}: {e}")
        lost = lost_typed_bytes(run_dir)
        if lost and isinstance(e, tc.WaitTimeout):
            raise tc.WaitTimeout(f"{e} (Bochs' UART lost {lost} typed bytes: see bochs.log)") from None
        raise
    finally:
        t.close()


def _features(t: Scenario) -> str:
    """The missing features, each with its first sign."""
    return "; ".join(f"{feature} ({why})" for feature, why in t.missing_features.items())


def lost_typed_bytes(run_dir: str) -> int:
    """Bytes Bochs' UART lost because its receive FIFO was full (bochs.log)."""
    try:
        with open(os.path.join(run_dir, "bochs.log"), errors="replace") as f:
            return sum("receive FIFO overflow" in line for line in f)
    except OSError:
        return 0
