# Front doors of esp-smoltcp's host port. Every target installs what it needs
# first (scripts/install-deps.sh; root or sudo on Debian 12).
#
#   make demo        the stack serving /dl/200000000 over an emulated 100 Mbit/s wire
#   make test        everything CI runs: unit, glue, e2e, sanitizers
#   make build       host build only (build/host)

BUILD      ?= build/host
ASAN_BUILD ?= build/asan
TSAN_BUILD ?= build/tsan
PYTHON     ?= python3
CMAKE_GEN  ?= -G Ninja

.PHONY: all deps build demo test test-unit test-glue test-e2e test-asan test-tsan test-robust test-robust-all test-diff test-interop test-fuzz clean

all: build

deps:
	@scripts/install-deps.sh

define cmake_build
	cmake -S . -B $(1) $(CMAKE_GEN) $(2) >/dev/null
	cmake --build $(1)
endef

build: deps
	$(call cmake_build,$(BUILD),)

demo: build
	$(PYTHON) scripts/demo.py --bin $(BUILD)/examples/eth_basic/eth_basic

test-unit: build
	cd $(BUILD) && ctest --output-on-failure

test-glue: deps
	cd components/esp_smoltcp_glue && cargo test --locked --features smoltcp-slaac
	$(PYTHON) tests/check_glue_header.py

test-e2e: build
	ESP_SMOLTCP_DEMO_BIN=$(CURDIR)/$(BUILD)/examples/eth_basic/eth_basic $(PYTHON) -m pytest -q tests/e2e

# ASan+UBSan: unit tests, the whole e2e suite against the instrumented demo, the interop apps.
test-asan: deps
	$(call cmake_build,$(ASAN_BUILD),-DESP_SMOLTCP_SANITIZE=address)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ESP_SMOLTCP_DEMO_BIN=$(CURDIR)/$(ASAN_BUILD)/examples/eth_basic/eth_basic $(PYTHON) -m pytest -q tests/e2e
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ESP_SMOLTCP_INTEROP_DIR=$(CURDIR)/$(ASAN_BUILD)/tests/interop $(PYTHON) -m pytest -q tests/interop -m "not minute"

# TSan: the threading of the runtime (poll task, RX thread, app threads) and the shim (e2e, interop).
test-tsan: deps
	$(call cmake_build,$(TSAN_BUILD),-DESP_SMOLTCP_SANITIZE=thread)
	cd $(TSAN_BUILD) && ctest --output-on-failure
	TSAN_OPTIONS=halt_on_error=1 \
	ESP_SMOLTCP_DEMO_BIN=$(CURDIR)/$(TSAN_BUILD)/examples/eth_basic/eth_basic $(PYTHON) -m pytest -q tests/e2e
	TSAN_OPTIONS=halt_on_error=1 \
	ESP_SMOLTCP_INTEROP_DIR=$(CURDIR)/$(TSAN_BUILD)/tests/interop $(PYTHON) -m pytest -q tests/interop -m "not minute"

# Robustness (fault matrix, floods, churn) without the slow cases; `make test-robust-all` has them.
test-robust: build
	ESP_SMOLTCP_DEMO_BIN=$(CURDIR)/$(BUILD)/examples/eth_basic/eth_basic $(PYTHON) -m pytest -q tests/robust -m "not slow"

test-robust-all: build
	ESP_SMOLTCP_DEMO_BIN=$(CURDIR)/$(BUILD)/examples/eth_basic/eth_basic $(PYTHON) -m pytest -q tests/robust

# Differential BSD suite: one program on the Linux kernel and on the shim, same observations.
test-diff: build
	$(PYTHON) -m pytest -q tests/diff

# Interop (tests/interop): mbedTLS on the stack vs openssl s_client/s_server; MQTT vs mosquitto.
test-interop: build
	ESP_SMOLTCP_INTEROP_DIR=$(CURDIR)/$(BUILD)/tests/interop $(PYTHON) -m pytest -q tests/interop

# Replays of the fuzz seeds and fixed crashes, then 10 s of fuzzing per target.
test-fuzz: fuzz-smoke
	$(PYTHON) -m pytest -q fuzz

test: test-glue test-unit test-e2e test-diff test-interop test-conformance test-robust test-fuzz test-asan test-tsan check-idf-ports size-report
	@echo "make test: all suites passed"

clean:
	rm -rf build components/esp_smoltcp_glue/target

# ---- ESP-IDF packaging (issue 6) ------------------------------------------------------
.PHONY: size size-report check-idf-ports idf-linux

# rv32imafc (ESP32-P4 ABI) cross-build of all three components into one image;
# code/data/bss per component and the budget (non-zero exit when over).
size:
	scripts/size.sh

# The same build and report in `make test`: a build or link error fails, an over-budget
# profile is reported (the budget is not met yet: docs/configuration.md "Code size").
size-report:
	SIZE_REPORT_ONLY=1 scripts/size.sh

# Target ports (FreeRTOS, esp_eth, shim port/idf) compile against host/idf_stubs
# (and real IDF headers with IDF_PATH); idf_component.yml + Kconfig validated.
check-idf-ports:
	scripts/check-idf-ports.sh

# examples/eth_basic built by idf.py for IDF's linux target and run in a
# namespace (real esp_http_server, curl /dl/N). Needs IDF_PATH; not in `make test`.
idf-linux:
	scripts/idf-linux.sh

# Benchmarks: esp_smoltcp vs lwIP 2.1.3 vs Linux, same application (bench/bench.py).
# Writes bench/out/results.json and docs/benchmarks.md (+ docs/benchmarks.png).
.PHONY: bench bench-quick
bench: deps
	@bench/install.sh
	$(PYTHON) bench/bench.py

bench-quick: deps
	@bench/install.sh
	$(PYTHON) bench/bench.py --quick

# ---- fuzzing (issue 7 §3): libFuzzer + ASan/UBSan targets in fuzz/ (see fuzz/README.md) --------
FUZZ_SECONDS ?= 60

.PHONY: fuzz fuzz-smoke test-conformance

# Each target for FUZZ_SECONDS, from the committed seeds and what earlier runs found.
fuzz: deps
	$(MAKE) -C fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS)

# The CI budget: 10 s per target.
fuzz-smoke: deps
	$(MAKE) -C fuzz run FUZZ_SECONDS=10

# ---- black-box RFC conformance (issue 7 §4): scapy from `peer`; rewrites docs/conformance.md ----
test-conformance: build
	ESP_SMOLTCP_DEMO_BIN=$(CURDIR)/$(BUILD)/examples/eth_basic/eth_basic \
	ESP_SMOLTCP_RESOLVE_TOOL=$(CURDIR)/$(BUILD)/tests/tools/resolve_tool \
	$(PYTHON) -m pytest -q tests/conformance --conformance-md docs/conformance.md

# ---- rv32imafc image on an emulated 250 MIPS RISC-V core (issue 10; docs/benchmarks-rv32.md) ----
.PHONY: rv32 rv32-demo bench-rv32
rv32:
	scripts/rv32.sh

# Boot under -icount shift=2 (250 MIPS) on the 100 Mbit/s bed: DHCP, ping, a byte-exact 50 MB
# download and upload, /quit ends QEMU with 0; then the stall regression check at 62.5 MIPS.
rv32-demo: rv32
	$(PYTHON) bench/rv32_bench.py --demo --demo-upload
	$(PYTHON) bench/rv32_bench.py --stress 8

# Downloads/uploads at 250 and 500 MIPS, then the instruction-count run and its split by function group.
bench-rv32: rv32
	$(PYTHON) bench/rv32_bench.py --shift 2 --shift 1 --reps 3 --bytes 100000000 --plugin-bytes 10000000
	$(PYTHON) bench/rv32_fncount.py build/rv32/bench/fncount.txt build/rv32/esp_smoltcp_rv32.elf \
	    --window dl=1:2 --window ul=3:4 --bytes dl=10000000 --bytes ul=10000000 --json build/rv32/bench/split.json
