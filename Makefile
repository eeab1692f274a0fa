# Makefile: plain GNU make, no configure step.
#   make            build build/rsa and the quickstart model build/models/quickstart (random weights,
#                   our own tokenizer). The CUDA engine (engine/cuda/*.cu) is built too when nvcc is
#                   found (PATH or /usr/local/cuda/bin); `make CUDA=0` leaves it out, CUDA=1 insists.
#   make test       build and run every test through ctest (unit: cmocka; integration: the real binary;
#                   GPU tests skip without a device)
#   make test-gpu   build and run only the CUDA tests, failing (not skipping) when no GPU is usable
#   make asan       the same tests under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   make fuzz       build the libFuzzer targets (clang) into build-fuzz/
#   make deps       install the Debian packages this project needs (apt-get; run as root)
#   make clean      remove build outputs

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           -MMD -MP -pthread -I. -DRSA_DATADIR='"$(CURDIR)"'
LIBS_BASE := -lcurl -lsqlite3 -lcjson -linih -lpcre2-8 -lutf8proc -lcrypto -lgmp -lpthread -lm
LDLIBS  += $(LIBS_BASE)
DEB_PKGS = build-essential libcurl4-openssl-dev libsqlite3-dev libcjson-dev libinih-dev \
           libpcre2-dev libutf8proc-dev libcmocka-dev libssl-dev libgmp-dev cmake python3 clang

# CUDA: auto = on when nvcc is found. On: engine/cuda/*.cu go into librsa.a, RSA_CUDA is defined
# (engine/cuda/stub.c then compiles to nothing) and everything links the static CUDA runtime.
CUDA     ?= auto
NVCC     ?= nvcc
GPU_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
CUDA_ON  := 0
ifneq ($(CUDA),0)
  NVCC_BIN := $(shell command -v $(NVCC) 2>/dev/null)
  ifeq ($(NVCC_BIN),)
    NVCC_BIN := $(wildcard /usr/local/cuda/bin/nvcc)
  endif
  ifneq ($(NVCC_BIN),)
    CUDA_ON := 1
  else ifneq ($(CUDA),auto)
    $(error CUDA=$(CUDA) but nvcc was not found (put it in PATH or set NVCC=/path/to/nvcc))
  endif
endif
ifeq ($(CUDA_ON),1)
  CUDA_HOME ?= $(patsubst %/,%,$(dir $(patsubst %/,%,$(dir $(realpath $(NVCC_BIN))))))
  NVCCFLAGS ?= -std=c++17 -O3 $(GPU_ARCH) -Xcompiler -Wall,-Wextra,-Wno-unused-parameter
  NVCCFLAGS += -I. -Xcompiler -fPIC -DRSA_CUDA
  CFLAGS    += -DRSA_CUDA
  LDLIBS    += -L$(CUDA_HOME)/lib64 -lcudart_static -ldl -lrt -lstdc++
endif

# Library sources: every module except the CLI entry point.
LIB_SRC  := $(wildcard rsa/*.c store/*.c bench/*.c sampler/*.c engine/*.c engine/cpu/*.c engine/cuda/*.c)
LIB_SRC  := $(filter-out rsa/main.c,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CU_SRC   := $(if $(filter 1,$(CUDA_ON)),$(wildcard engine/cuda/*.cu))
CU_OBJ   := $(CU_SRC:%.cu=$(BUILD)/obj/%.o)
# Switching CUDA on or off in a build tree must rebuild the stub and the archive: this file's date
# changes only when the setting does.
CUDA_STATE := $(BUILD)/cuda.state
$(shell mkdir -p $(BUILD) && (echo $(CUDA_ON) | cmp -s - $(CUDA_STATE) || echo $(CUDA_ON) > $(CUDA_STATE)))
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
# The built-in default model of configs/quickstart.ini: a seeded random-weight ZAYA1 checkpoint of
# the geometry in configs/models/quickstart/config.json plus the project's own tiny tokenizer.
QS_SRC   := configs/models/quickstart
QS_MODEL := $(BUILD)/models/quickstart

.PHONY: all test test-gpu asan fuzz deps clean demo-depth FORCE
all: $(BUILD)/rsa $(QS_MODEL)/model.safetensors

# The CLI.
$(BUILD)/rsa: $(BUILD)/obj/rsa/main.o $(BUILD)/librsa.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# Every module in one static archive, so tests link exactly what the CLI links.
$(BUILD)/librsa.a: $(LIB_OBJ) $(CU_OBJ) $(CUDA_STATE)
	@rm -f $@
	ar rcs $@ $(LIB_OBJ) $(CU_OBJ)

# main.o records the git revision the binary was built from (stored with every run).
GIT_REV := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
$(BUILD)/obj/rsa/main.o: rsa/main.c FORCE
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DRSA_GIT_REV='"$(GIT_REV)"' -c -o $@ $<
FORCE:

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/engine/cuda/stub.o: $(CUDA_STATE)

$(BUILD)/obj/%.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC_BIN) $(NVCCFLAGS) -MMD -MP -c -o $@ $<

# The quickstart model (a few MB, well under a second); order-only on the binary so that relinking
# rsa does not remake it.
$(QS_MODEL)/model.safetensors: $(QS_SRC)/config.json $(QS_SRC)/tokenizer.json $(QS_SRC)/tokenizer_config.json | $(BUILD)/rsa
	@mkdir -p $(QS_MODEL)
	$(BUILD)/rsa model init --shape $(QS_SRC)/config.json --random --seed 1 --dtype bf16 --force --out $(QS_MODEL)
	cp $(QS_SRC)/tokenizer.json $(QS_SRC)/tokenizer_config.json $(QS_MODEL)/

# One cmocka binary per unit-test file.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/librsa.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/librsa.a $(LDFLAGS) $(LDLIBS) -lcmocka

# ctest reads a generated CTestTestfile.cmake: unit binaries plus tests/integration/test_*.py.
# Exit code 77 means "skipped" (e.g. ../shared absent).
$(BUILD)/CTestTestfile.cmake: Makefile $(TEST_SRC) $(wildcard tests/integration/test_*.py)
	@mkdir -p $(BUILD)
	@{ for t in $(TEST_BIN); do n=$$(basename $$t); \
	     echo "add_test($$n $(CURDIR)/$$t)"; \
	     echo "set_tests_properties($$n PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 WORKING_DIRECTORY $(CURDIR))"; done; \
	   for t in $(wildcard tests/integration/test_*.py); do n=$$(basename $$t .py); \
	     echo "add_test($$n python3 $(CURDIR)/$$t $(CURDIR)/$(BUILD)/rsa)"; \
	     echo "set_tests_properties($$n PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 WORKING_DIRECTORY $(CURDIR))"; done; \
	 } > $@

test: $(BUILD)/rsa $(QS_MODEL)/model.safetensors $(TEST_BIN) $(BUILD)/CTestTestfile.cmake
	cd $(BUILD) && ctest --output-on-failure -j2

# The CUDA tests on a machine with a GPU: RSA_REQUIRE_GPU=1 turns "no device" into a failure.
test-gpu: $(BUILD)/rsa $(TEST_BIN) $(BUILD)/CTestTestfile.cmake
	@if [ "$(CUDA_ON)" != 1 ]; then echo "make test-gpu: this build has no CUDA (nvcc not found or CUDA=0)" >&2; exit 1; fi
	cd $(BUILD) && RSA_REQUIRE_GPU=1 ctest --output-on-failure -R cuda

# Sanitizers: a separate build tree, same tests.
asan:
	$(MAKE) BUILD=build-asan OPT='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	    LDFLAGS='-fsanitize=address,undefined' test

# libFuzzer targets (clang): one binary per tests/fuzz/fuzz_*.c.
fuzz:
	@mkdir -p build-fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "  FUZZ $$n"; \
	  clang -std=c11 -D_GNU_SOURCE -g -O1 -I. -fsanitize=fuzzer,address,undefined -DRSA_DATADIR='"$(CURDIR)"' \
	    -o build-fuzz/$$n $$f $(LIB_SRC) $(LIBS_BASE) || exit 1; done

# The built-in model's aggregation-depth ablation against its budget-matched baseline
# (configs/demo-depth.ini; a few minutes on 2 cores): tables on stdout, plots in build/demo-depth.html.
demo-depth: $(BUILD)/rsa
	RSA=$(BUILD)/rsa bash bench/demo_depth.sh $(BUILD)/demo-depth.db

deps:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_PKGS)

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(CU_OBJ:.o=.d) $(BUILD)/obj/rsa/main.d
