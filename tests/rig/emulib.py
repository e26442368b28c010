"""Shared code of Tessera's emulator rig (used by tests/rig/emu, run-tests, run-vmx).

Boots a boot tree (an ESP directory) or a disk image in QEMU (OVMF, q35, TCG) or
Bochs (OVMF, i440fx, VMX-capable CPU model) with a hard wall-clock timeout,
watches the serial log and stops the emulator as soon as a line matches an
"until" pattern. Every run works on its own copy of the disk in its own run
directory under build/, so runs in parallel never share a file.
"""
from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import tty
from dataclasses import dataclass, field
from typing import Callable

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.path.join(ROOT, "build")
OVMF = "/usr/share/ovmf/OVMF.fd"
VGABIOS = "/usr/share/vgabios/vgabios.bin"
QEMU = "qemu-system-x86_64"
EMULATORS = ("qemu", "bochs")

# OVMF prints this when it hands control to a boot option: the first one is the
# boot application (\EFI\BOOT\BOOTX64.EFI), which is how boot time is measured.
APP_STARTED = re.compile(r"BdsDxe: starting Boot")

# OVMF's terminal driver sends VT100/ANSI sequences; a cursor move usually
# stands for a new line (e.g. the shell's "Press ESC" countdown and prompt).
_CURSOR_MOVE = re.compile(r"\x1b\[[0-9;]*[Hf]")
_ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_lines(raw: bytes) -> list[str]:
    """The serial output as text lines without escape sequences or CRs."""
    text = raw.decode("utf-8", "replace")
    text = _CURSOR_MOVE.sub("\n", text)
    text = _ESCAPE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [_CONTROL.sub("", line) for line in text.split("\n")]


def rel(path: str) -> str:
    """A path as shown to people: relative to the work tree when inside it."""
    r = os.path.relpath(path, ROOT)
    return path if r.startswith("..") else r


# --------------------------------------------------------------------------
# What is installed
# --------------------------------------------------------------------------
_isolation: list[list[str]] = []   # [prefix] once known ([[]] when none works)
_isolation_lock = threading.Lock()


def net_isolation() -> list[str] | None:
    """A command prefix that runs Bochs without network (its VNC display must
    not listen on the host), or None when this user cannot make one."""
    with _isolation_lock:
        if not _isolation:
            found: list[str] = []
            for prefix in (["unshare", "--net"], ["unshare", "--user", "--map-root-user", "--net"]):
                try:
                    ok = subprocess.run(prefix + ["true"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL).returncode == 0
                except OSError:
                    ok = False
                if ok:
                    found = prefix
                    break
            _isolation.append(found)
        return _isolation[0] or None


def missing(emulator: str) -> str | None:
    """Why `emulator` cannot run here, or None when it can."""
    if emulator not in EMULATORS:
        return f"unknown emulator '{emulator}' (known: {', '.join(EMULATORS)})"
    if not os.path.isfile(OVMF):
        return f"OVMF firmware {OVMF} is missing (Debian package ovmf)"
    if emulator == "qemu":
        if not shutil.which(QEMU):
            return f"{QEMU} is not installed (Debian package qemu-system-x86)"
        return None
    if not shutil.which("bochs"):
        return "bochs is not installed (Debian packages bochs, bochsbios)"
    if not os.path.isfile(VGABIOS):
        return f"{VGABIOS} is missing (Debian package vgabios)"
    if net_isolation() is None:
        return "cannot run Bochs in a network namespace (unshare --net fails); its VNC display would listen on the network"
    return None


# --------------------------------------------------------------------------
# Disks and command lines
# --------------------------------------------------------------------------
def prepare_disk(source: str, run_dir: str, conf: str | None = None,
                 files: list[str] | None = None) -> str:
    """Copies the boot tree (or disk image) `source` into run_dir; with `conf`,
    the copy's tessera/tessera.conf is replaced by that file, and `files` are
    copied into the copy's tessera/ directory (by their base names, e.g.
    \\tessera\\vmlinuz for a partition's `kernel`). Returns the copy."""
    remove_disk(run_dir)  # a reused run directory: the last run's disk
    for path in files or []:
        if not os.path.isfile(path):
            raise RigError(f"no file {rel(path)} to put on the disk")
    if os.path.isdir(source):
        if not os.path.isfile(os.path.join(source, "EFI", "BOOT", "BOOTX64.EFI")):
            raise RigError(f"{rel(source)} holds no EFI/BOOT/BOOTX64.EFI (run make first?)")
        disk = os.path.join(run_dir, "esp")
        shutil.copytree(source, disk, ignore=shutil.ignore_patterns(".*"))
        if conf is not None or files:
            os.makedirs(os.path.join(disk, "tessera"), exist_ok=True)
        if conf is not None:
            shutil.copyfile(conf, os.path.join(disk, "tessera", "tessera.conf"))
        for path in files or []:
            shutil.copyfile(path, os.path.join(disk, "tessera", os.path.basename(path)))
        return disk
    if os.path.isfile(source):
        if conf is not None or files:
            raise RigError(f"cannot change the files inside the disk image {rel(source)}; boot a directory")
        disk = os.path.join(run_dir, "disk.img")
        shutil.copyfile(source, disk)
        return disk
    raise RigError(f"no boot tree or disk image at {source}")


def remove_disk(run_dir: str) -> None:
    """Deletes the disk copy of a run (and Bochs' journal of writes to it)."""
    shutil.rmtree(os.path.join(run_dir, "esp"), ignore_errors=True)
    for name in ("disk.img", "vvfat.journal"):
        if os.path.exists(os.path.join(run_dir, name)):
            os.remove(os.path.join(run_dir, name))


def qemu_argv(disk: str, serial: list[str], cpus: int = 1, memory: int = 512,
              accel: list[str] | None = None) -> list[str]:
    """QEMU on q35 with OVMF; `serial` are the -serial/-monitor options."""
    if "," in disk or ":" in disk:
        raise RigError(f"QEMU cannot take a path with ',' or ':' in it: {disk}")
    if os.path.isdir(disk):
        drive = f"format=raw,file=fat:rw:{disk}"
    else:
        drive = f"format=raw,file={disk}"
    return [QEMU, "-machine", "q35", "-m", str(memory), "-smp", str(cpus),
            "-bios", OVMF, "-drive", drive, "-nographic", *serial,
            "-net", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", *(accel or [])]


def write_bochsrc(run_dir: str, disk: str, com1: str, cpus: int = 1, memory: int = 512) -> str:
    """Writes run_dir/bochsrc and run_dir/bochs.cmds (the debugger's commands:
    Debian's Bochs stops at its debugger prompt unless told to continue)."""
    name = os.path.relpath(disk, run_dir)
    if os.path.isdir(disk):
        ata = f"type=disk, path=\"{name}\", mode=vvfat, journal=vvfat.journal"
    else:
        ata = f"type=disk, path=\"{name}\", mode=flat"
    rc = os.path.join(run_dir, "bochsrc")
    with open(rc, "w") as f:
        f.write(f"""# Written by tests/rig/emulib.py for one run.
megs: {memory}
romimage: file={OVMF}, address=0xffe00000
vgaromimage: file={VGABIOS}
pci: enabled=1, chipset=i440fx
cpu: model=corei7_haswell_4770, count={cpus}, ips=25000000
clock: sync=none
ata0-master: {ata}
com1: {com1}
display_library: rfb, options="timeout=0"
log: bochs.log
panic: action=fatal
speaker: enabled=0
# Bochs' sound mixer thread aborts (a fortified buffer check) on a machine
# without an ALSA card; the guests here need no sound.
sound: driver=dummy
mouse: enabled=0
port_e9_hack: enabled=1
""")
    with open(os.path.join(run_dir, "bochs.cmds"), "w") as f:
        f.write("c\n")
    return rc


def bochs_argv() -> list[str]:
    return [*(net_isolation() or []), "bochs", "-q", "-f", "bochsrc", "-rc", "bochs.cmds"]


def new_run_dir(parent: str, prefix: str) -> str:
    os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(dir=parent, prefix=prefix)


class RigError(Exception):
    """A problem with the rig's inputs (not a test verdict)."""


# --------------------------------------------------------------------------
# Running with a timeout
# --------------------------------------------------------------------------
_live: set[subprocess.Popen] = set()
_live_lock = threading.RLock()  # signal handlers take it too


def _stop(p: subprocess.Popen) -> None:
    """Ends the emulator's process group: SIGTERM, then SIGKILL after 3 s."""
    for sig, grace in ((signal.SIGTERM, 3), (signal.SIGKILL, 5)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(grace)
            break
        except subprocess.TimeoutExpired:
            continue


def track(p: subprocess.Popen) -> None:
    """Registers an emulator for stop_all()."""
    with _live_lock:
        _live.add(p)


def stop_all(*_args) -> None:
    """Stops every emulator still running (for signal handlers)."""
    with _live_lock:
        procs = list(_live)
    for p in procs:
        _stop(p)


def install_signal_handlers() -> None:
    def handler(signum, _frame):
        stop_all()
        os._exit(128 + signum)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


@dataclass
class Result:
    outcome: str               # "until" (matched), "timeout", "exited" (emulator ended by itself),
                               # "driver" (a driver ran the console; see driver_error)
    seconds: float             # wall-clock time from start to stop
    app_seconds: float | None  # when OVMF started the boot application
    exit_status: int | None    # the emulator's, when it ended by itself
    run_dir: str
    serial: str                # raw serial log
    lines: list[str] = field(default_factory=list)  # cleaned serial lines
    matched: str | None = None  # the line that matched "until"
    note: str | None = None     # the emulator's own last words when it ended by itself
    sent: int = 0               # how many of the sends were typed
    driver_note: object = None  # what a driver returned
    driver_error: BaseException | None = None  # what a driver raised

    def describe(self, emulator: str, until: str | None, timeout: float) -> str:
        if self.outcome == "driver":
            if self.driver_error is None:
                return f"the driver finished after {self.seconds:.1f} s"
            return f"{self.driver_error} (after {self.seconds:.1f} s)"
        if self.outcome == "until":
            return f"matched /{until}/ after {self.seconds:.1f} s"
        last = next((l for l in reversed(self.lines) if l.strip()), None)
        tail = f"; last serial line: {last.strip()!r}" if last else "; no serial output"
        if self.outcome == "timeout":
            what = f" before /{until}/ matched" if until else ""
            return f"timed out after {timeout:g} s{what}{tail}"
        status = self.exit_status
        readings = []
        if emulator == "qemu" and status is not None and status & 1 and status > 1:
            readings.append(f"isa-debug-exit value {status >> 1}")
        if status is not None and status > 128:
            readings.append(f"killed by signal {status - 128}")
        extra = f" ({' or '.join(readings)})" if readings else ""
        what = f" before /{until}/ matched" if until else ""
        note = f" ({self.note})" if self.note else ""
        return f"{emulator} exited with status {status}{extra}{note}{what}{tail}"


# Typing into the console: the pause in seconds between two bytes of a `send`
# (0: the whole text in one write). Bochs moves a byte from the pty into its
# UART's 16-byte receive FIFO at the line's baud rate in emulated time, which
# runs faster than wall time, while Tessera reads its UART only between time
# slices: text written at once while a partition runs loses every byte past
# the 16th ("receive FIFO overflow" in bochs.log). One byte every 50 ms (a
# slice is roughly 0.15 s of wall time here) lost nothing.
SEND_BYTE_PAUSE = 0.05


class _FileSerial:
    """The serial output that the emulator writes to a file (output only)."""

    def __init__(self, path: str):
        self.f = open(path, "rb")

    def read(self, wait: float) -> bytes:
        chunk = self.f.read()
        if not chunk:
            time.sleep(wait)
        return chunk

    def close(self) -> None:
        self.f.close()


class _PtySerial:
    """A two-way console: the emulator's serial port on the slave side of a
    pty (raw); this side holds the master, logs all it reads into `path`
    and types into it."""

    def __init__(self, path: str):
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.name = os.ttyname(self.slave)
        self.log = open(path, "wb")
        self.backlog = b""  # read while typing, not yet returned by read()

    def read(self, wait: float) -> bytes:
        if self.backlog:
            chunk, self.backlog = self.backlog, b""
            return chunk
        return self._read(wait)

    def _read(self, wait: float) -> bytes:
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return b""
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: nothing holds the slave side any more
            time.sleep(wait)
            return b""
        self.log.write(chunk)
        self.log.flush()
        return chunk

    def type(self, text: bytes, pause: float) -> None:
        if pause <= 0:
            self._write_all(text)
            return
        for b in text:
            self._write_all(bytes([b]))
            # Keep reading meanwhile: the emulator must not wait on a full pty.
            deadline = time.monotonic() + pause
            while (left := deadline - time.monotonic()) > 0:
                self.backlog += self._read(left)

    def _write_all(self, data: bytes) -> None:
        """Writes all of data, reading meanwhile whenever the pty is full."""
        while data:
            _, ready, _ = select.select([], [self.master], [], 0.1)
            if not ready:
                self.backlog += self._read(0)
                continue
            data = data[os.write(self.master, data):]

    def close(self) -> None:
        # Output still queued in the pty (Bochs may have written it just before it
        # was stopped) goes into the log too.
        while self._read(0):
            pass
        self.log.close()
        os.close(self.master)
        os.close(self.slave)


class LinkTimeout(Exception):
    """A driver's run reached the run's time limit."""


class EmulatorEnded(Exception):
    """The emulator ended while a driver still used its console."""


class DriverLink:
    """The two-way serial console of a running emulator, as a driver sees it
    (the link tests/rig/tessera_client.py's Client reads and writes). All it
    reads also goes into the run's serial log."""

    def __init__(self, console: _PtySerial, proc: subprocess.Popen, emulator: str,
                 run_dir: str, start: float, timeout: float):
        self.console, self.proc, self.emulator = console, proc, emulator
        self.run_dir, self.start, self.timeout = run_dir, start, timeout
        self.default_pause = SEND_BYTE_PAUSE
        self.app_seconds: float | None = None  # when OVMF started the boot application
        self._tail = b""

    def elapsed(self) -> float:
        """Seconds since the emulator started."""
        return time.monotonic() - self.start

    def read(self, wait: float) -> bytes:
        """What arrives within `wait` seconds (returns at the first bytes).
        Raises EmulatorEnded or LinkTimeout when the run is over."""
        if self.console.backlog:
            return self._seen(self.console.read(0))
        status = self.proc.poll()
        if status is not None:
            note = _last_words(self.emulator, self.run_dir)
            raise EmulatorEnded(f"{self.emulator} exited with status {status}" + (f" ({note})" if note else ""))
        left = self.timeout - self.elapsed()
        if left <= 0:
            raise LinkTimeout(f"the run's time limit of {self.timeout:g} s ran out")
        return self._seen(self.console.read(max(min(wait, left), 0)))

    def _seen(self, chunk: bytes) -> bytes:
        """Notes when the boot application started (APP_STARTED)."""
        if self.app_seconds is None and chunk:
            self._tail = (self._tail + chunk)[-4096:]
            if APP_STARTED.search(self._tail.decode("utf-8", "replace")):
                self.app_seconds = self.elapsed()
        return chunk

    def write(self, data: bytes, pause: float | None = None) -> None:
        """Types data: one byte every `pause` seconds (default SEND_BYTE_PAUSE,
        see there; 0: all at once, as a paste), reading meanwhile."""
        self.console.type(data, self.default_pause if pause is None else pause)


def boot(emulator: str, source: str, run_dir: str, timeout: float, until: str | None = None,
         conf: str | None = None, cpus: int = 1, memory: int = 512,
         sends: list[tuple[str, str]] | None = None,
         driver: Callable[[DriverLink], object] | None = None,
         files: list[str] | None = None) -> Result:
    """Boots `source` (boot tree or disk image) in `emulator`, with the serial
    log in run_dir/serial.log (raw) and run_dir/serial.txt (cleaned).

    `sends` are (REGEX, TEXT) pairs, in order: once a cleaned serial line that
    arrived after the previous send (for the first, any line) matches REGEX,
    TEXT and a carriage return are typed into the serial console. With sends
    the serial port is a pty (two-way); without, a file as before.

    `driver` (instead of `until` and `sends`) is called with a DriverLink to
    the console as soon as the emulator runs; the emulator is stopped when it
    returns or raises. Its result goes to Result.driver_note, what it raised
    to Result.driver_error (outcome "driver"). `files` go into the disk copy's
    tessera/ directory (see prepare_disk)."""
    reason = missing(emulator)
    if reason:
        raise RigError(reason)
    if driver is not None and (until or sends):
        raise RigError("a driver runs the console alone: no until or sends with it")
    until_re = re.compile(until) if until else None
    pending = [(re.compile(rx), text.encode() + b"\r") for rx, text in (sends or [])]
    disk = prepare_disk(source, run_dir, conf, files)
    serial = os.path.join(run_dir, "serial.log")
    open(serial, "wb").close()
    console = _PtySerial(serial) if sends or driver else None
    if emulator == "qemu":
        port = console.name if console else f"file:{serial}"
        argv = qemu_argv(disk, ["-serial", port, "-monitor", "none"], cpus, memory)
    else:
        com1 = f"mode=term, dev={console.name}" if console else "mode=file, dev=serial.log"
        write_bochsrc(run_dir, disk, f"enabled=1, {com1}", cpus, memory)
        argv = bochs_argv()
    # coreutils timeout is a second line of defence: it ends the emulator even
    # if this process dies without cleaning up.
    argv = ["timeout", "-k", "5", str(int(timeout) + 30), *argv]
    env = dict(os.environ, TMPDIR=run_dir)  # QEMU's vvfat keeps its scratch file there
    with open(os.path.join(run_dir, "emulator.out"), "wb") as out:
        with _live_lock:
            start = time.monotonic()
            try:
                p = subprocess.Popen(argv, cwd=run_dir, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
            except OSError:
                if console:
                    console.close()
                raise
            _live.add(p)
    with open(os.path.join(run_dir, "command"), "w") as f:
        f.write(" ".join(argv) + "\n")

    buf, checked, app_seconds, outcome, matched = b"", 0, None, "timeout", None
    sent_at, sent_checked = 0, 0  # where the output after the last send starts; lines seen of it
    reader = console or _FileSerial(serial)
    driver_note, driver_error = None, None
    watching = driver is None  # else the driver runs the console
    try:
        if driver is not None:
            outcome = "driver"
            link = DriverLink(console, p, emulator, run_dir, start, timeout)
            try:
                driver_note = driver(link)
            except Exception as e:  # the driver's verdict: kept for the caller
                driver_error = e
            app_seconds = link.app_seconds
        while watching:
            exited = p.poll() is not None
            now = time.monotonic() - start
            chunk = reader.read(0.1)
            if chunk:
                buf += chunk
                lines = clean_lines(buf)
                # The last line may be incomplete (a prompt): look at it again next time.
                for line in lines[checked:]:
                    if app_seconds is None and APP_STARTED.search(line):
                        app_seconds = now
                    if until_re and until_re.search(line):
                        outcome, matched = "until", line
                        break
                checked = max(len(lines) - 1, 0)
                while pending and matched is None:
                    fresh = clean_lines(buf[sent_at:])
                    if not any(pending[0][0].search(l) for l in fresh[sent_checked:]):
                        sent_checked = max(len(fresh) - 1, 0)
                        break
                    sent_at, sent_checked = len(buf), 0
                    console.type(pending.pop(0)[1], SEND_BYTE_PAUSE)
            if matched is not None:
                break
            if exited:
                outcome = "exited"
                break
            if now >= timeout:
                break
    finally:
        seconds = time.monotonic() - start
        if p.poll() is None:
            _stop(p)
        with _live_lock:
            _live.discard(p)
        reader.close()
    with open(serial, "rb") as f:
        raw = f.read()
    lines = clean_lines(raw)
    with open(os.path.join(run_dir, "serial.txt"), "w") as f:
        f.write("\n".join(lines))
    if app_seconds is None and any(APP_STARTED.search(l) for l in lines):
        app_seconds = seconds
    ended = outcome == "exited" or isinstance(driver_error, EmulatorEnded)
    status = p.returncode if ended else None
    if status is not None and status < 0:
        status = 128 - status
    note = _last_words(emulator, run_dir) if ended else None
    return Result(outcome, seconds, app_seconds, status, run_dir, serial, lines, matched, note,
                  len(sends or []) - len(pending), driver_note, driver_error)


def _last_words(emulator: str, run_dir: str) -> str | None:
    """Why the emulator says it ended: Bochs' first panic, QEMU's last message."""
    if emulator == "bochs":
        name, pick = "bochs.log", lambda ls: next((l for l in ls if ">>PANIC<<" in l), None)
    else:
        name, pick = "emulator.out", lambda ls: next((l for l in reversed(ls) if l.strip()), None)
    try:
        with open(os.path.join(run_dir, name), errors="replace") as f:
            line = pick(f.read().splitlines())
    except OSError:
        return None
    return line.strip()[:200] if line else None
