"""The GPIO counter panel: call buttons, counter LEDs, status LED and buzzer.

It owns the pins (through gpiozero's pin factory) and runs as its own systemd
unit; :mod:`~panel.app` is the daemon.
"""
