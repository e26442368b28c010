# Tessera — build, test and run.
#
#   make          build/tessera.efi, the boot tree build/esp/ and build/esp.img
#   make test     host unit tests and emulator tests; ends "N passed, N failed"
#   make run      boot the default configuration in an emulator with VMX
#   make bench    print the benchmark table
#   make lint     cppcheck and clang-tidy
#   make deps     install the Debian packages the above need (done on demand)

VERSION := 0.1.0
BUILD   := build
# V=1 shows every command.
Q := $(if $(V),,@)

# The Debian packages that building, testing and running need: the one place
# they are listed. `make deps` installs whichever are missing.
DEB_PACKAGES := gcc make binutils gnu-efi mtools dosfstools fdisk \
	libcmocka-dev ovmf qemu-system-x86 bochs bochsbios vgabios \
	cppcheck clang-tidy util-linux python3 \
	clang libclang-rt-14-dev libzydis-dev acpica-tools

DEPS_STAMP := $(BUILD)/.deps-ok

# ---------------------------------------------------------------------------
# The hypervisor image (PE32+ EFI application via gnu-efi).
# ---------------------------------------------------------------------------
CC      := gcc
LD      := ld
OBJCOPY := objcopy

EFI_INC   := /usr/include/efi
EFI_CRT0  := /usr/lib/crt0-efi-x86_64.o
EFI_LIBS  := /usr/lib/libgnuefi.a

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter

# -mgeneral-regs-only: the hypervisor never touches x87/SSE/AVX state, so
# guest FPU registers survive a VM exit without being saved.
# -fno-omit-frame-pointer: the exception handler prints a backtrace.
HV_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-builtin \
	-fno-stack-protector -fno-stack-check -fpic -fshort-wchar \
	-mno-red-zone -maccumulate-outgoing-args -mgeneral-regs-only \
	-fno-omit-frame-pointer -fno-strict-aliasing \
	-DGNU_EFI_USE_MS_ABI -DTESSERA_VERSION='"$(VERSION)"' \
	-I. -isystem $(EFI_INC) -isystem $(EFI_INC)/x86_64 $(HV_EXTRA_CFLAGS)

HV_SRCS := $(sort $(wildcard boot/*.c arch/x86/*.c hv/*.c drivers/*.c))
HV_ASM  := $(sort $(wildcard arch/x86/*.S))
HV_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(HV_SRCS)) \
	$(patsubst %.S,$(BUILD)/obj/%.o,$(HV_ASM))

TESSERA_SO  := $(BUILD)/tessera.so
TESSERA_EFI := $(BUILD)/tessera.efi

# ---------------------------------------------------------------------------
# In-tree test guests: 32-bit flat binaries entered in protected mode.
# ---------------------------------------------------------------------------
GUEST_CFLAGS := -std=gnu11 -O2 $(WARN) -m32 -mgeneral-regs-only -ffreestanding -fno-builtin \
	-fno-pic -fno-stack-protector -fno-asynchronous-unwind-tables -I.
GUESTS      := $(notdir $(patsubst %/,%,$(dir $(wildcard guests/*/guest.mk))))
GUEST_BINS  := $(patsubst %,$(BUILD)/guests/%.bin,$(GUESTS))

# ---------------------------------------------------------------------------
# The boot disk: build/esp/ as a tree and build/esp.img as a GPT disk image.
# ---------------------------------------------------------------------------
ESP     := $(BUILD)/esp
ESP_IMG := $(BUILD)/esp.img
DEFAULT_CONF := guests/tessera.conf

.PHONY: all deps test unit run bench lint clean esp.img
all: $(TESSERA_EFI) $(ESP)/.stamp $(ESP_IMG)

deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@tests/rig/install-deps $(DEB_PACKAGES)
	@mkdir -p $(@D) && touch $@

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(HV_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.S | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(HV_CFLAGS) -MMD -MP -c $< -o $@

$(TESSERA_SO): $(HV_OBJS) linker.ld
	@echo "  LD      $@"
	$(Q)$(LD) -nostdlib -znocombreloc -T linker.ld -shared -Bsymbolic \
		$(EFI_CRT0) $(HV_OBJS) $(EFI_LIBS) -o $@

$(TESSERA_EFI): $(TESSERA_SO)
	@echo "  EFI     $@"
	$(Q)$(OBJCOPY) -j .text -j .sdata -j .data -j .dynamic -j .dynsym \
		-j .rel -j .rela -j .reloc --target efi-app-x86_64 \
		--subsystem=10 $< $@

# Each guests/NAME/ holds guest.mk: GUEST_SRCS (paths relative to that folder)
# and optionally GUEST_DEFINES (-D options, to build one source as several
# guests). guests/guest.ld links it.
guest_var = $(shell sed -n 's/^$(2) *:= *//p' guests/$(1)/guest.mk)
define guest_rule
$(BUILD)/guests/$(1).elf: $$(addprefix guests/$(1)/,$$(call guest_var,$(1),GUEST_SRCS)) $$(wildcard guests/common/*) guests/guest.ld guests/$(1)/guest.mk $$(wildcard hv/*.h) $$(wildcard arch/x86/*.h)
	@mkdir -p $$(@D)
	@echo "  GUEST   $$@"
	$(Q)$(CC) $(GUEST_CFLAGS) $$(call guest_var,$(1),GUEST_DEFINES) -nostdlib -static \
		-Wl,-m,elf_i386 -Wl,--build-id=none -T guests/guest.ld -o $$@ $$(filter %.c %.S,$$^)
endef
$(foreach g,$(GUESTS),$(eval $(call guest_rule,$(g))))

$(BUILD)/guests/%.bin: $(BUILD)/guests/%.elf
	$(Q)$(OBJCOPY) -O binary $< $@

$(ESP)/.stamp: $(TESSERA_EFI) $(GUEST_BINS) $(DEFAULT_CONF)
	tests/rig/make-esp $(ESP) $(TESSERA_EFI) $(DEFAULT_CONF) $(GUEST_BINS)
	@touch $@

esp.img: $(ESP_IMG)
$(ESP_IMG): $(ESP)/.stamp
	tests/rig/make-esp-img $(ESP) $@

# ---------------------------------------------------------------------------
# Host unit tests (cmocka): every layer that does not touch hardware.
# ---------------------------------------------------------------------------
HOST_CC     := gcc
HOST_CFLAGS := -std=gnu11 -O1 -g $(WARN) -DTESSERA_HOST -DTESSERA_VERSION='"$(VERSION)"' \
	-I. -fsanitize=address,undefined -fno-omit-frame-pointer
# Sources that build unchanged on the host.
HOST_SRCS := $(sort $(wildcard $(shell cat tests/unit/host-sources 2>/dev/null)))
# The decoder's fuzzer, replayed and run briefly by make test (see "fuzz").
FUZZ_CHECK := $(BUILD)/unit/fuzz_decode_check
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/test_*.c))
UNIT_SUPPORT := $(wildcard tests/unit/support/*.c)

HOST_OBJS := $(patsubst %.c,$(BUILD)/host/%.o,$(HOST_SRCS) $(UNIT_SUPPORT))
.SECONDARY: $(HOST_OBJS)

$(BUILD)/host/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $<"
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/unit/%: tests/unit/%.c $(HOST_OBJS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  HOSTLD  $@"
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -o $@ $< $(HOST_OBJS) -lcmocka

unit: $(UNIT_TESTS)
	tests/rig/run-tests --unit-only $(UNIT_TESTS)

test: all $(UNIT_TESTS) $(FUZZ_CHECK)
	tests/rig/run-tests $(UNIT_TESTS) $(FUZZ_CHECK)

run: all
	tests/rig/run-vmx $(ESP)

# The counting build (VMREADs and VMWRITEs per exit) goes to $(BUILD)/count.
bench: all
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/count \
		HV_EXTRA_CFLAGS=-DTESSERA_COUNT_VMX $(BUILD)/count/esp/.stamp
	tests/rig/bench

lint: | $(DEPS_STAMP)
	tests/rig/lint $(HV_SRCS)

# Debian's kernel and a busybox initramfs for the Linux partition of
# tests/emu/bochs-linux.test (whose `prepare` runs this too) and make bench.
.PHONY: linux-guest
linux-guest:
	tests/rig/make-linux-guest $(BUILD)/linux

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/host -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------------------
# BEGIN fuzz: differential fuzzer of the x86 decoder (hv/x86_decode.c)
# against Zydis, with libFuzzer (clang; libclang-rt-14-dev, libzydis-dev).
#   make fuzz FUZZ_SECONDS=60   build build/fuzz/fuzz_decode, fuzz that long
#   make fuzz-corpus            run it over the seed corpus only, no fuzzing
# New inputs go to build/fuzz/corpus-decode, findings to build/fuzz/artifacts/;
# the seeds in tests/fuzz/corpus/decode are only read.
# ---------------------------------------------------------------------------
FUZZ_CC      := clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -std=gnu11 -O1 -g $(WARN) -DTESSERA_HOST -I. -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_DECODE  := $(BUILD)/fuzz/fuzz_decode
FUZZ_SEEDS   := tests/fuzz/corpus/decode

.PHONY: fuzz fuzz-corpus
$(FUZZ_DECODE): tests/fuzz/fuzz_decode.c hv/x86_decode.c hv/x86_emulate.c \
		hv/x86_decode.h hv/x86_emulate.h hv/types.h hv/string.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) -lZydis

fuzz: $(FUZZ_DECODE)
	@mkdir -p $(BUILD)/fuzz/corpus-decode $(BUILD)/fuzz/artifacts
	$(FUZZ_DECODE) -max_total_time=$(FUZZ_SECONDS) -max_len=32 -print_final_stats=1 \
		-artifact_prefix=$(BUILD)/fuzz/artifacts/ $(BUILD)/fuzz/corpus-decode $(FUZZ_SEEDS)

fuzz-corpus: $(FUZZ_DECODE)
	$(FUZZ_DECODE) -runs=0 $(FUZZ_SEEDS)

# What make test runs (FUZZ_CHECK, defined with the unit tests): the seed
# corpus and a bounded fresh run, as TAP.
$(FUZZ_CHECK): $(FUZZ_DECODE) tests/rig/fuzz-check
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec tests/rig/fuzz-check %s %s 5\n' $(FUZZ_DECODE) $(FUZZ_SEEDS) > $@
	@chmod +x $@
# END fuzz
# ---------------------------------------------------------------------------
