"""``pishkhan provision``: bringing a device into service. Each sub-command module registers here.

(Minimal on the enrolment branch: ``enroll`` only; ``check`` is added beside it.)"""

from __future__ import annotations


def register(sub, common):
    p = sub.add_parser("provision", parents=[common], help="bring this device into service: enrol it")
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    from cli.provision_enroll import register as register_enroll

    register_enroll(s, common)
