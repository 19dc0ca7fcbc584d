# The two commands of the README: `make demo` and `make test`. Both set everything up.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: demo test setup system-deps lint clean-results

# The whole study on the demo data (results/boxplot.pdf and every table and plot), then
# the HTML report of it.
demo: setup
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report results/report.html

test: setup
	$(BIN)/python -m pytest -ra

setup: system-deps $(VENV)/.installed

# musdb and museval import stempeg, which refuses to load without ffmpeg and ffprobe.
system-deps:
	@command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || { \
	  if command -v apt-get >/dev/null; then \
	    echo "Installing ffmpeg (needed by musdb/museval) with apt-get"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends ffmpeg; \
	  else \
	    echo "ffmpeg and ffprobe are needed (musdb and museval load them at import)."; \
	    echo "Install them with your package manager (brew install ffmpeg, dnf install ffmpeg, ...) and run make again."; \
	    exit 1; \
	  fi; }

# torch==2.13.0 is pinned exactly (pyproject.toml): pip takes the CPU wheel where one is
# provided locally and the CUDA build on a GPU box. openunmix is a test-only reference; its
# torchaudio dependency would pull another torch, so it comes without dependencies.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/pip install --quiet --no-deps openunmix==1.3.0
	touch $@

lint: setup
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check .

clean-results:
	rm -rf results logs benchmarks
