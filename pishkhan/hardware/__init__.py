"""The hardware boundary: small interfaces with a real and a fake implementation.

:mod:`~pishkhan.hardware.printer` prints tickets on ESC/POS printers (USB,
network, serial, file, fake). Nothing above these interfaces knows whether the
device is real; configuration chooses.
"""
