# Each target bootstraps from nothing: uv via pip if missing, then the locked environment.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export PYTHONWARNINGS ?= ignore::FutureWarning

.PHONY: run test lint doctor bootstrap

bootstrap:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

run: bootstrap
	$(UV) run omnilake doctor

test: bootstrap
	$(UV) run pytest

lint: bootstrap
	$(UV) run ruff check .
	$(UV) run ruff format --check .

doctor: bootstrap
	$(UV) run omnilake doctor
