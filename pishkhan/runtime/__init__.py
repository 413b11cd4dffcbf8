"""What a long-running app process shares, not domain rules.

:mod:`~pishkhan.runtime.memory` gives freed heap back to the system at quiet
moments.
"""
