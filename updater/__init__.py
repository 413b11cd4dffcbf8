"""pishkhan-update: the privileged one-shot that installs a release on the device (docs/updates-on-device.md).

Standard library only: it runs as ``/usr/bin/python3 -I /usr/lib/pishkhan/pishkhan-update`` (one zip file
dpkg replaces in one rename), so it works while the virtual environment is being swapped and at boot after a
power cut. Never import ``pishkhan`` here; the project's code is reached only through its command
(``pishkhan update verify|health``), run from the installed (verify) or the new (health) environment.

The rules:

- **The agent asks, root acts.** The agent writes ``request.json``; the updater copies it into its own folder,
  deletes it, and trusts nothing in it: the installed ``pishkhan update verify`` judges the signed document,
  and the package is fetched by the hash that document gave, over HTTPS with the centre's CA pinned.
- **Never without a way back.** An upgrade starts only when ``kept/`` holds an intact package of the running
  version (else refused ``no_rollback_package``). A document for the running version only fetches and keeps
  its package.
- **Every step is a row** of the journal (:mod:`updater.journal`), written and synced before the next step
  starts, so after a power cut the last row says how far the attempt got.
- **Health-gated.** After ``dpkg -i`` the enabled units are restarted and the NEW environment's
  ``pishkhan update health`` is polled every few seconds up to ``health_seconds``; not healthy by then, or
  dpkg failed: the kept package of the previous version is installed again (``rolled_back``).
- **Recovery at boot** (:mod:`updater.recover`): an attempt whose last row is not a final one is finished or
  undone before the services start: ``dpkg --configure -a`` if dpkg was interrupted, then the new version is
  kept only if it is configured and healthy by itself, else the previous package is installed again.
"""
