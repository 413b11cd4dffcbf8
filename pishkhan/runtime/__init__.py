"""What a long-running app process shares, not domain rules.

:mod:`~pishkhan.runtime.memory` gives freed heap back to the system at quiet
moments; :mod:`~pishkhan.runtime.kivy_env` prepares Kivy's environment for the
apps that draw Persian (before Kivy is imported).
"""
