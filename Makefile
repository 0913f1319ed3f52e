# SPDX-License-Identifier: BSD-3-Clause
# The front door. Everything real lives in meson and scripts/.
#
#   make run    install what is missing, build, run petreld on net_tap in
#               the network namespace `petrel` (Ctrl-C stops it)
#   make test   install, build (gcc, and clang with ASan+UBSan), run every
#               test; the last line is the summary
#   make build | asan | perf | docs-config | clean

BUILD      ?= build
ASAN_BUILD ?= build-asan
PETREL_ARGS ?=

.PHONY: all deps build asan run test perf docs-config clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@bash scripts/build.sh $(BUILD)

asan: deps
	@bash scripts/build.sh $(ASAN_BUILD) asan

run: build
	@bash scripts/run.sh $(BUILD) $(PETREL_ARGS)

test: deps
	@bash scripts/test.sh

perf: deps
	@perf/run

# Regenerate the key table in docs/configuration.md from the binary.
docs-config: build
	@$(BUILD)/apps/petreld -- --describe-config

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-perf
