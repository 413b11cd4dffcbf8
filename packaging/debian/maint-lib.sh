# The maintainer scripts' shared pieces. build-deb.sh puts this text in place
# of the marker line in postinst, prerm and postrm (postrm runs on purge,
# after the package's files are gone, so nothing can be sourced).
# Every path is under $DPKG_ROOT: empty on a normal install; a folder when
# dpkg installs into another root (`dpkg --root DIR --force-script-chrootless`,
# as tests/packaging does), where nothing of the running machine is touched.

PISHKHAN_VERSION="@VERSION@"
# Every unit the package lays, and those enabled at install (the rest, e.g.
# the centre's monitor, are laid for a technician to enable by hand).
PISHKHAN_UNITS="@UNITS@"
PISHKHAN_ENABLE="@ENABLE@"
PISHKHAN_GROUPS="video render input gpio lp audio dialout"

root="${DPKG_ROOT:-}"
opt="$root/opt/pishkhan"
wheels="$root/usr/lib/pishkhan/wheels"

# useradd and friends edit $root/etc when given --prefix (no chroot needed).
pk_prefix() { if [ -n "$root" ]; then echo "--prefix $root"; fi; }
# getent on a normal install; another root's files when DPKG_ROOT names one
# (getent cannot look into another root).
pk_getent() {
	if [ -z "$root" ]; then getent "$1" "$2"; else awk -F: -v n="$2" '$1 == n' "$root/etc/$1"; fi
}
pk_has_group() { [ -n "$(pk_getent group "$1")" ]; }
pk_has_user() { [ -n "$(pk_getent passwd "$1")" ]; }
pk_id() { pk_getent "$1" "$2" | cut -d: -f3; }
# systemd and udev are only asked when they run (never in a chroot or image build).
pk_systemd_running() { [ -z "$root" ] && [ -d /run/systemd/system ]; }
pk_udev_running() { [ -z "$root" ] && [ -S /run/udev/control ]; }

pk_make_user() {
	for g in pishkhan $PISHKHAN_GROUPS; do
		pk_has_group "$g" || groupadd $(pk_prefix) --system "$g"
	done
	if ! pk_has_user pishkhan; then
		useradd $(pk_prefix) --system --gid pishkhan --home-dir /var/lib/pishkhan --no-create-home \
			--shell /usr/sbin/nologin --comment "Pishkhan Edge" pishkhan
	fi
	usermod $(pk_prefix) --append --groups "$(echo $PISHKHAN_GROUPS | tr ' ' ,)" pishkhan
}

pk_make_dirs() {
	uid=$(pk_id passwd pishkhan)
	gid=$(pk_id group pishkhan)
	mkdir -p "$root/etc/pishkhan" "$root/var/lib/pishkhan" "$opt"
	chown 0:"$gid" "$root/etc/pishkhan"
	chmod 0750 "$root/etc/pishkhan"
	chown "$uid":"$gid" "$root/var/lib/pishkhan"
	chmod 0750 "$root/var/lib/pishkhan"
	# Updates (docs/updates-on-device.md): the agent writes its request in its own folder; the updater
	# (root) keeps its journal and the kept packages in a root folder the agent may read.
	mkdir -p "$root/var/lib/pishkhan/update" "$root/var/lib/pishkhan-update"
	chown "$uid":"$gid" "$root/var/lib/pishkhan/update"
	chmod 0750 "$root/var/lib/pishkhan/update"
	chown 0:0 "$root/var/lib/pishkhan-update"
	chmod 0755 "$root/var/lib/pishkhan-update"
}

# A new virtual environment per version from the wheels the package carries
# (never an index), then /opt/pishkhan/.venv is switched to it in one rename.
# The previous one stays until the services have restarted (pk_drop_old_venvs).
pk_make_venv() {
	venv="$opt/venv-$PISHKHAN_VERSION"
	rm -rf "$venv"
	/usr/bin/python3 -m venv "$venv"
	env -u PYTHONPATH -u PYTHONHOME -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT -u PIP_REQUIREMENT \
		PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
		"$venv/bin/python" -m pip install --no-index --find-links "$wheels" --no-cache-dir --quiet \
		--log "$venv/pip-install.log" $(cat "$wheels/wheels.list")
	ln -sfn "venv-$PISHKHAN_VERSION" "$opt/.venv.new"
	mv -T "$opt/.venv.new" "$opt/.venv"
}

pk_drop_old_venvs() {
	for d in "$opt"/venv-*; do
		[ "$d" = "$opt/venv-$PISHKHAN_VERSION" ] || rm -rf "$d"
	done
}

# The configuration: written once (an upgrade never touches it), 0640 root:pishkhan.
pk_write_config() {
	cfg="$root/etc/pishkhan/pishkhan.toml"
	[ -e "$cfg" ] && return 0
	rm -f "$cfg.new"
	"$opt/.venv/bin/python" -c 'import sys; from cli.main import main; sys.exit(main())' \
		config init --out "$cfg.new" --printer lp:/dev/pishkhan-printer >/dev/null
	chown 0:"$(pk_id group pishkhan)" "$cfg.new"
	chmod 0640 "$cfg.new"
	mv "$cfg.new" "$cfg"
}

# As dh_installsystemd does: enable on first install (deb-systemd-helper works
# without a running systemd, so an image built in a chroot boots with them on).
pk_enable_units() {
	for u in $PISHKHAN_ENABLE; do
		deb-systemd-helper unmask "$u" >/dev/null || true
		if deb-systemd-helper --quiet was-enabled "$u"; then
			deb-systemd-helper enable "$u" >/dev/null || true
		else
			deb-systemd-helper update-state "$u" >/dev/null || true
		fi
	done
}

# Start on install, restart on upgrade; only where systemd runs.
pk_start_units() {
	pk_systemd_running || return 0
	systemctl --system daemon-reload >/dev/null || true
	if [ -n "${1:-}" ]; then action=restart; else action=start; fi
	for u in $PISHKHAN_ENABLE; do
		deb-systemd-invoke "$action" "$u" >/dev/null || true
	done
}

pk_stop_units() {
	pk_systemd_running || return 0
	for u in $PISHKHAN_ENABLE; do
		deb-systemd-invoke stop "$u" >/dev/null || true
	done
}

pk_reload_udev() {
	pk_udev_running || return 0
	udevadm control --reload-rules || true
	udevadm trigger --action=change --subsystem-match=usb --subsystem-match=usbmisc || true
}
