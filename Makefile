# Portico: the two commands a new user runs.
#   make run    install what is missing, build (Release), serve the demo on http://127.0.0.1:8080
#               and https://127.0.0.1:8443 (a self-signed development certificate is made under
#               build/dev-cert/ on first use: scripts/dev-cert.sh)
#   make test   install what is missing, build with ASan+UBSan, run every test and the fuzzers
# Other targets: build, asan, fuzz, bench, format, clean.

JOBS ?= $(shell nproc)
BUILD_RELEASE := build/release
BUILD_ASAN := build/asan
FUZZ_SECONDS ?= 30
CMAKE_COMMON := -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

.PHONY: run test setup build asan unit interop fuzz bench format clean

setup:
	@scripts/setup.sh

build: setup
	@cmake $(CMAKE_COMMON) -S . -B $(BUILD_RELEASE) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@ninja -C $(BUILD_RELEASE) -j $(JOBS)

DEV_CERT := build/dev-cert

run: build
	@scripts/dev-cert.sh $(DEV_CERT) >/dev/null
	$(BUILD_RELEASE)/apps/portico/portico serve --listen 127.0.0.1:8080 \
	  --tls-cert $(DEV_CERT)/cert.pem --tls-key $(DEV_CERT)/key.pem --listen-tls 127.0.0.1:8443 \
	  --metrics /metrics --status /status --access-log --ws-echo /ws/echo --ws-chat /ws/chat

asan: setup
	@cmake $(CMAKE_COMMON) -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTICO_SANITIZE=ON >/dev/null
	@ninja -C $(BUILD_ASAN) -j $(JOBS)

test: asan
	@cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j 2 --timeout 600
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

unit: asan
	@cd $(BUILD_ASAN) && ctest --output-on-failure -j 2 -L unit

interop: asan
	@cd $(BUILD_ASAN) && ctest --output-on-failure -L interop

fuzz: setup
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

bench:
	@scripts/setup.sh --bench
	@cmake $(CMAKE_COMMON) -S . -B $(BUILD_RELEASE) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@ninja -C $(BUILD_RELEASE) -j $(JOBS)
	@bench/run.sh

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
