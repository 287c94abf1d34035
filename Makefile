# Deuropener. `make run` starts the assistant; `make test` runs every test.
# Both set up what is missing first: two virtual environments (outside the clone, keyed by
# a hash of their lock file) and a trained model (retrained only when the training data changed).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV_ROOT ?= $(HOME)/.cache/deuropener/venvs
export DEUROPENER_VENV_ROOT := $(VENV_ROOT)
env_hash = $(shell sha256sum < $(1) | cut -c1-12)
RASA_ENV := $(VENV_ROOT)/rasa-$(call env_hash,requirements/rasa.lock)
APP_ENV := $(VENV_ROOT)/app-$(call env_hash,requirements/app.lock)
RASA := $(RASA_ENV)/bin/rasa
PY := $(APP_ENV)/bin/python

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONPATH := $(CURDIR)
export RASA_BIN := $(RASA)

MODEL := models/deuropener.tar.gz
TRAINING_DATA := config.yml $(wildcard domain/*.yml nlu/*.yml stories/*.yml)

.PHONY: help setup run chat test validate lint unit conversation-tests nlu-report bench-bot clean

help:
	@echo "make run         start the assistant (Rasa, actions, Telegram bot if TELEGRAM_BOT_TOKEN is set)"
	@echo "make chat        talk to the running assistant in this terminal"
	@echo "make test        validate the data, train, and run every test"
	@echo "make nlu-report  cross-validate the NLU model, write results/nlu-report.md"
	@echo "make bench-bot   measure the latency the Telegram bot adds, write results/bot-latency.md"
	@echo "make bench-nudges  send 10,000 due nudges to a fake Bot API, write results/nudge-dispatch.md"
	@echo "make bench-serving stock Rasa against the scaled-out full path, write BENCHMARKS.md"
	@echo "make soak        50 workers for 10 minutes on the scaled-out stack, write BENCHMARKS.md"

setup: $(RASA_ENV)/.complete $(APP_ENV)/.complete

$(RASA_ENV)/.complete: requirements/rasa.lock
	scripts/ensure_venv.sh rasa requirements/rasa.lock --no-deps >/dev/null

$(APP_ENV)/.complete: requirements/app.lock
	scripts/ensure_venv.sh app requirements/app.lock --no-deps >/dev/null

$(MODEL): $(TRAINING_DATA) $(RASA_ENV)/.complete
	@echo "==> training the model (about 2 minutes; progress bars below)"
	@start=$$(date +%s); \
	flock models.lock $(RASA) train --data nlu stories --domain domain --config config.yml \
		--out models --fixed-model-name deuropener; \
	echo "==> trained in $$(( $$(date +%s) - start )) s"

run: setup $(MODEL) crisis-model
	$(PY) -m bot run

chat: $(APP_ENV)/.complete
	$(PY) -m bot chat

validate: $(RASA_ENV)/.complete
	$(RASA) data validate --data nlu stories --domain domain --config config.yml

lint: $(APP_ENV)/.complete
	$(APP_ENV)/bin/ruff check .
	$(APP_ENV)/bin/ruff format --check .

unit: setup $(MODEL) crisis-model
	$(PY) -m pytest

conversation-tests: $(MODEL)
	$(RASA) test core --e2e --model $(MODEL) --stories tests/conversations \
		--fail-on-prediction-errors --out results/tmp/conversation-tests

test: setup browser nginx validate lint $(MODEL) unit conversation-tests
	@echo "==> all tests passed"

nlu-report: setup
	# Its own training cache: a model being trained at the same time must not share it.
	RASA_CACHE_DIRECTORY=results/tmp/nlu-cv-cache $(RASA) test nlu --nlu nlu --config config.yml --domain domain --cross-validation --folds 3 \
		--out results/tmp/nlu-cv
	$(PY) scripts/nlu_report.py results/tmp/nlu-cv results/nlu-report.md

bench-bot: setup $(MODEL)
	$(PY) scripts/bench_bot_latency.py --messages 200 --out results/bot-latency.md

clean:
	rm -rf models results/tmp .rasa

.PHONY: privacy-report
privacy-report: $(APP_ENV)/.complete
	$(PY) scripts/privacy_report.py results/privacy-report.md

# Precision and recall of the contact message checker on tests/data/message_drafts.yml.
.PHONY: message-report
message-report: $(APP_ENV)/.complete
	$(PY) scripts/message_report.py results/message-check-report.md

# Debian's Chromium for the dashboard's browser tests (Playwright drives it; never `playwright install`).
.PHONY: browser
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# Debian's nginx for the multi-replica test (tests/test_scale_out.py): the load balancer in front
# of the bots, the Rasa servers and the action servers (deploy/nginx.conf).
.PHONY: nginx
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; }

# Stock Rasa serving against the full path (2 replicas of each kind behind nginx, PostgreSQL,
# Redis), side by side on the same model; a 10-minute soak; a timed full training. Each writes
# results/bench/*.json and rewrites BENCHMARKS.md.
.PHONY: bench-serving soak bench-train
bench-serving: setup nginx $(MODEL)
	$(PY) scripts/bench_serving.py serve --workers 20 --rounds 3

soak: setup nginx $(MODEL)
	$(PY) scripts/bench_serving.py soak --workers 50 --minutes 10

bench-train: setup
	$(PY) scripts/bench_serving.py train

# Crisis detector: recall and false alarms per labelled set, the held-out batch apart.
# The crisis classifier is trained at first use and cached (coach/crisis_model.py); train it
# here, once, so no bot process started by `run` or the tests spends half a minute on it.
.PHONY: crisis-model
crisis-model: $(APP_ENV)/.complete
	$(PY) -c "from coach import crisis_model; crisis_model.classifier()"

.PHONY: crisis-report
crisis-report: $(APP_ENV)/.complete
	$(PY) scripts/crisis_report.py results/crisis-report.md

# Bad input: 10,000 seeded messages in-process and through Rasa's /model/parse, 300 through
# the whole bot (fake Bot API -> bot -> Rasa -> action server); writes results/fuzz-report.md.
.PHONY: fuzz
fuzz: setup $(MODEL)
	$(PY) scripts/fuzz_report.py --messages 10000 --bot-messages 300 --out results/fuzz-report.md

.PHONY: bench-nudges
bench-nudges: $(APP_ENV)/.complete
	$(PY) scripts/bench_nudges.py --nudges 10000 --out results/nudge-dispatch.md
