# Two entry points for a fresh machine: `make run` (the app) and `make test` (the test suite).
# Everything lives in a local virtual environment, .venv, made on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EXAMPLE ?= netbuilder/resources/examples/lenet5.json

.PHONY: run test bench venv clean bundle install-desktop

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

venv: $(VENV)/.installed

run: venv
	$(VENV)/bin/netbuilder $(EXAMPLE)

# The suite runs offscreen; then the xwindow tests run in a real X server (Xvfb + openbox, see
# tests/xserver.py): skipped with the reason where Xvfb is missing, a failure in CI (CI set).
test: venv
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider --durations=25
	$(PY) -m pytest -q -p no:cacheprovider -rs --durations=10 --xwindow tests/ui

bench: venv
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -s tests/benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info

# --- desktop bundle and desktop entry (issue 8; see packaging/) ---------------------------------
# `make bundle` builds build/dist/netbuilder/ with PyInstaller; `make install-desktop` installs the
# desktop entry, AppStream metadata and icons under $(PREFIX)/share (hicolor layout). The program
# it launches is the bundle when one is built (copied to $(PREFIX)/lib/netbuilder, linked from
# $(PREFIX)/bin), else this checkout's .venv/bin/netbuilder, else `netbuilder` on the PATH.
.PHONY: uninstall-desktop bundle-smoke
PREFIX ?= $(HOME)/.local
DATADIR = $(PREFIX)/share
BUNDLE ?= build/dist/netbuilder
ICON_SIZES := 16 32 48 64 128 256 512

bundle: venv
	$(PY) -m pip install --quiet -e ".[bundle]"
	$(PY) -m PyInstaller packaging/netbuilder.spec --noconfirm --log-level WARN \
		--distpath $(dir $(BUNDLE)) --workpath build/pyinstaller
	@echo "built $(BUNDLE)/netbuilder ($$(du -sh $(BUNDLE) | cut -f1))"

bundle-smoke: venv
	packaging/smoke_test.sh

install-desktop:
	@set -e; \
	if [ -x "$(BUNDLE)/netbuilder" ]; then \
		rm -rf "$(PREFIX)/lib/netbuilder"; mkdir -p "$(PREFIX)/lib" "$(PREFIX)/bin"; \
		cp -a "$(BUNDLE)" "$(PREFIX)/lib/netbuilder"; \
		program="$(PREFIX)/lib/netbuilder/netbuilder"; \
		ln -sfn "$$program" "$(PREFIX)/bin/netbuilder"; \
	elif [ -x "$(VENV)/bin/netbuilder" ]; then program="$(abspath $(VENV))/bin/netbuilder"; \
	else program=netbuilder; fi; \
	install -Dm644 packaging/icons/netbuilder.svg \
		"$(DATADIR)/icons/hicolor/scalable/apps/netbuilder.svg"; \
	for s in $(ICON_SIZES); do \
		install -Dm644 packaging/icons/netbuilder-$$s.png \
			"$(DATADIR)/icons/hicolor/$${s}x$${s}/apps/netbuilder.png"; \
	done; \
	install -d "$(DATADIR)/applications" "$(DATADIR)/metainfo"; \
	sed -e "s|^Exec=netbuilder|Exec=$$program|" -e "s|^TryExec=netbuilder|TryExec=$$program|" \
		packaging/netbuilder.desktop > "$(DATADIR)/applications/netbuilder.desktop"; \
	install -m644 packaging/io.github.netbuilder.metainfo.xml "$(DATADIR)/metainfo/"; \
	if command -v update-desktop-database >/dev/null; then \
		update-desktop-database -q "$(DATADIR)/applications" || true; fi; \
	if command -v gtk-update-icon-cache >/dev/null; then \
		gtk-update-icon-cache -q -t "$(DATADIR)/icons/hicolor" || true; fi; \
	echo "installed netbuilder.desktop under $(DATADIR) (it runs $$program)"

uninstall-desktop:
	rm -f "$(DATADIR)/applications/netbuilder.desktop" \
		"$(DATADIR)/metainfo/io.github.netbuilder.metainfo.xml" \
		"$(DATADIR)/icons/hicolor/scalable/apps/netbuilder.svg"
	for s in $(ICON_SIZES); do rm -f "$(DATADIR)/icons/hicolor/$${s}x$${s}/apps/netbuilder.png"; done
	if [ -L "$(PREFIX)/bin/netbuilder" ] && \
		[ "$$(readlink "$(PREFIX)/bin/netbuilder")" = "$(PREFIX)/lib/netbuilder/netbuilder" ]; then \
		rm -f "$(PREFIX)/bin/netbuilder"; fi
	rm -rf "$(PREFIX)/lib/netbuilder"
