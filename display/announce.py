"""Spoken calls: a chime, then «شماره ۲۳، باجه ۲» in Persian, made offline.

- :class:`EspeakSynth` turns a phrase into a WAV (chime + espeak-ng's Persian
  voice) and caches it per phrase under ``<state_dir>/audio``.
- A sink plays it: :class:`DeviceSink` (the default sound device through
  ``aplay``, ``paplay`` or sox's ``play``), :class:`FileSink` (records each
  phrase as a JSON line, for tests and demos), :class:`MemorySink` (in-process
  tests) or :class:`NullSink`.
- :class:`Announcer` queues the calls and plays them one after another on its
  own thread, so a burst is neither dropped nor overlapped. Without a sound
  device the calls are visual only, and that is recorded as the ``audio``
  component's state.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import math
import os
import queue
import re
import shutil
import struct
import subprocess
import threading
import time
import wave
from pathlib import Path

from pishkhan.store.files import write_whole
from pishkhan.text.persian import to_latin_digits, to_persian_digits

from display import wall_strings as S

RATE = 22050


def call_phrase(call) -> str:
    """The phrase shown and spoken for *call*: «شماره A۰۰۵، باجه ۲»."""
    ticket = call.ticket
    label = getattr(ticket, "display_label", None) or to_persian_digits(str(getattr(ticket, "label", ticket)))
    return S.CALL.format(number=label, counter=to_persian_digits(str(call.counter)))


def spoken_text(phrase: str) -> str:
    """What the voice reads: Latin prefix letters by name, numbers without leading zeros."""
    def number(m):
        digits = to_latin_digits(m.group(0))
        return to_persian_digits(str(int(digits)))

    text = re.sub(r"[0-9۰-۹]+", number, phrase)
    return re.sub(r"[A-Z]", lambda m: S.LETTER_NAMES.get(m.group(0), m.group(0)) + " ", text)


def chime(rate: int = RATE) -> bytes:
    """Two soft bell tones (16-bit mono PCM frames), then a short pause."""
    frames = bytearray()
    for freq, length in ((880.0, 0.28), (659.25, 0.45)):
        n = int(rate * length)
        for i in range(n):
            t = i / rate
            envelope = math.exp(-4.5 * t / length) * min(1.0, i / (0.01 * rate))
            sample = 0.45 * envelope * (math.sin(2 * math.pi * freq * t) + 0.3 * math.sin(4 * math.pi * freq * t))
            frames += struct.pack("<h", int(max(-1.0, min(1.0, sample)) * 32000))
    frames += b"\x00\x00" * int(rate * 0.25)
    return bytes(frames)


class EspeakSynth:
    """Phrase → WAV file with espeak-ng (``-v fa``), cached per phrase.

    :param cache_dir: where the WAVs are kept (``<state_dir>/audio``).
    :param voice: the espeak-ng voice.
    :param with_chime: put the chime before the speech in the same file.
    """

    def __init__(self, cache_dir, *, voice: str = "fa", speed: int = 140, with_chime: bool = True):
        self.cache_dir = Path(cache_dir)
        self.voice = voice
        self.speed = speed
        self.with_chime = with_chime
        self._chime = chime() if with_chime else b""

    def available(self) -> tuple[bool, str]:
        if not shutil.which("espeak-ng"):
            return False, "espeak-ng is not installed"
        return True, ""

    def path_for(self, phrase: str) -> Path:
        key = hashlib.sha256(f"{self.voice}|{self.speed}|{self.with_chime}|{phrase}".encode()).hexdigest()[:24]
        return self.cache_dir / f"{key}.wav"

    def wav(self, phrase: str) -> Path:
        """The cached WAV for *phrase*, made on first use."""
        path = self.path_for(phrase)
        if path.is_file():
            return path
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["espeak-ng", "-v", self.voice, "-s", str(self.speed), "--stdout", spoken_text(phrase)],
                              capture_output=True, timeout=20)
        if done.returncode != 0 or not done.stdout:
            raise RuntimeError(f"espeak-ng failed for {phrase!r}: {done.stderr.decode(errors='replace').strip()}")
        with wave.open(io.BytesIO(done.stdout)) as speech:
            rate, width, channels = speech.getframerate(), speech.getsampwidth(), speech.getnchannels()
            frames = speech.readframes(speech.getnframes())
        if self.with_chime and (rate, width, channels) == (RATE, 2, 1):
            frames = self._chime + frames

        def write(f):
            with wave.open(f, "wb") as out:
                out.setnchannels(channels)
                out.setsampwidth(width)
                out.setframerate(rate)
                out.writeframes(frames)

        return write_whole(path, write)  # a cut never leaves an empty WAV cached for this phrase


class NullSink:
    """No sound at all (``display.voice = "none"`` or ``audio = "none"``)."""

    def available(self) -> tuple[bool, str]:
        return False, "spoken calls are switched off in the configuration"

    def play(self, phrase: str, wav: Path | None):
        pass


class MemorySink:
    """Keeps ``(phrase, wav)`` in :attr:`played`; *delay* simulates playing time."""

    def __init__(self, *, delay: float = 0.0):
        self.delay = delay
        self.played: list[tuple[str, Path | None]] = []
        self.overlaps = 0
        self._busy = False

    def available(self):
        return True, ""

    def play(self, phrase, wav):
        if self._busy:
            self.overlaps += 1
        self._busy = True
        time.sleep(self.delay)
        self.played.append((phrase, wav))
        self._busy = False


class FileSink:
    """Appends ``{"phrase", "wav", "started", "ended"}`` JSON lines to *path*.

    *delay* stands for the time the sound would take to play.
    """

    def __init__(self, path, *, delay: float = 0.0):
        self.path = Path(path)
        self.delay = delay

    def available(self):
        return True, ""

    def play(self, phrase, wav):
        started = time.time()
        time.sleep(self.delay)
        line = json.dumps({"phrase": phrase, "wav": str(wav) if wav else None,
                           "started": started, "ended": time.time()}, ensure_ascii=False)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class DeviceSink:
    """Plays WAVs on the default sound device, one at a time (blocking)."""

    PLAYERS = (["aplay", "-q"], ["paplay"], ["play", "-q"])

    def __init__(self):
        self.player = next((p for p in self.PLAYERS if shutil.which(p[0])), None)

    def available(self):
        if self.player is None:
            return False, "no audio player (aplay, paplay or sox play) is installed"
        runtime = os.environ.get("XDG_RUNTIME_DIR", "")
        if glob.glob("/dev/snd/pcmC*D*p") or (runtime and (os.path.exists(f"{runtime}/pulse/native")
                                                        or os.path.exists(f"{runtime}/pipewire-0"))):
            return True, ""
        return False, "no audio output device (no /dev/snd playback device, no sound server)"

    def play(self, phrase, wav):
        if wav is None:
            return
        done = subprocess.run([*self.player, str(wav)], capture_output=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"{self.player[0]} could not play {wav}: "
                               f"{done.stderr.decode(errors='replace').strip()[:200]}")


def sink_from_config(config):
    """The sink named by ``display.audio`` (``none`` also when ``voice = "none"``)."""
    audio = config.display.audio
    if config.display.voice == "none" or audio == "none":
        return NullSink()
    if audio.startswith("file:"):
        return FileSink(audio[5:])
    if audio == "auto":
        return DeviceSink()
    from pishkhan.exc import ConfigError
    raise ConfigError(f"display.audio: expected \"auto\", \"none\" or \"file:PATH\", got {audio!r}")


class Announcer:
    """Announce calls one after another on a worker thread.

    :param synth: makes the WAV for a phrase (:class:`EspeakSynth`), or None.
    :param sink: plays it.
    :param store: where the ``audio`` state is recorded (optional).
    :param on_played: called with each phrase after it was handed to the sink.
    """

    def __init__(self, *, synth=None, sink=None, store=None, on_played=None):
        self.synth = synth
        self.sink = sink or NullSink()
        self.store = store
        self.on_played = on_played
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._failed = False
        self.available, self.reason = self._check()
        self._record("available" if self.available else "unavailable", self.reason)

    def _check(self) -> tuple[bool, str]:
        ok, why = self.sink.available()
        if ok and self.synth is not None:
            ok, why = self.synth.available()
        return ok, why

    def _record(self, state, reason):
        if self.store is not None:
            try:
                self.store.record_state("audio", state, reason or ("calls are spoken" if state == "available"
                                                                   else "calls are visual only"))
            except Exception:
                pass

    def announce(self, call_or_phrase) -> str:
        """Queue the announcement of a call (or a ready phrase); returns the phrase."""
        if self._closed:
            raise RuntimeError("the announcer is closed")
        phrase = call_or_phrase if isinstance(call_or_phrase, str) else call_phrase(call_or_phrase)
        if not self.available:
            return phrase
        self._queue.put(phrase)
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="announcer", daemon=True)
            self._thread.start()
        return phrase

    def pending(self) -> int:
        return self._queue.qsize()

    def _work(self):
        while True:
            phrase = self._queue.get()
            if phrase is None:
                return
            try:
                wav = self.synth.wav(phrase) if self.synth is not None else None
                self.sink.play(phrase, wav)
                if self._failed:
                    self._failed = False
                    self._record("available", "")
                if self.on_played:
                    self.on_played(phrase)
            except Exception as e:
                self._failed = True
                self._record("unavailable", f"announcement failed, call shown only: {e}")
            finally:
                self._queue.task_done()

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait until every queued announcement was played (tests)."""
        end = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < end:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def close(self):
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
